"""The live wire: the KIS protocol, the raw log, the recorder and a loopback exchange."""
