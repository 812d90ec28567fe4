print("earpiece")
