from clients.python.client import Client, ConnectionLost, GatewayError, connect

__all__ = ["Client", "ConnectionLost", "GatewayError", "connect"]
