"""The live wire: KIS protocol codec, approval client, recorder, raw log, simulator."""
