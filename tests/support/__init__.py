"""Test support shared by the stage test folders: wait helpers, fault-injecting proxies."""
