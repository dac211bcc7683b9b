"""The files the Python sinks share with the tests that start them.

A sink writes each file whole under a temporary name and renames it, so
that a test reading it (itest.c's wait_port(), a spool reader) never
sees half of one. The port file is the port and a newline.
"""
import os


def write_atomic(path, data):
    """Writes bytes `data` to `path` by way of `path`.tmp."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def publish_port(path, port):
    """Tells the test the port the sink listens on."""
    write_atomic(path, b"%d\n" % port)
