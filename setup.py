"""The one compiled part: lang/_measure.c (see its Strategy note). Optional: without a C
compiler the install goes on and lang/nested.py measures in Python."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("rtserve.lang._measure", ["lang/_measure.c"], optional=True)])
