"""The macOS backend: the same policy as a Seatbelt profile, run with `sandbox-exec`.

`sbpl` writes paths and patterns in the profile language, `profile` lays the rules out,
`plan` turns a policy into the profile and the command line, `violations` reads the
system log's sandbox messages back as events.
"""
