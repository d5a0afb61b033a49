"""Test support shared by the stage test folders: wait helpers, fault-injecting proxies, the
tiny random language model (also used by `bench/reports.py`)."""
