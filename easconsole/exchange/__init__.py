"""The only code that talks to Exchange: the gateway interface, its transports, and the simulator."""
