"""The lab's computational core: pure torch and numpy, no Qt.

Every module here can be used from a notebook or a script on its own.
"""
