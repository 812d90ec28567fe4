print("bench-server")
