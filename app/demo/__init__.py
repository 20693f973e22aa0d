"""`sandgate demo`: a scripted agent, two local servers and both incidents of the design.

`servers` holds the stand-in outside collector and vendor API (127.0.0.1 only),
`scenario` the demo's files, policy and the agent's steps, `narrate` the sentences the
command prints. The command itself (`app.commands.demo`) runs them through the real
service, sandbox and proxy.
"""
