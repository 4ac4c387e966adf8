"""The real-node tier: p2pcap checked against a real dashd and its own -capturemessages files."""
