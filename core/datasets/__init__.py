"""Data every lab may use: the 2-D point sets, image data sets and the sample images."""
