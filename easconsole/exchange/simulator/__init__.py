"""A simulated Exchange organization that answers pypsrp over real WSMan/PSRP.

It imports nothing from the console: it is a plain Python package that tests, benchmarks and demo
mode start on loopback.
"""
