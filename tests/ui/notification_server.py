"""A freedesktop notification server for tests, on the private bus it is started in.

Run under `dbus-run-session`: prints the bus address, then one JSON line per Notify
call (id, replaces, summary, body, actions). A line `click ID` on its standard input
clicks that notification's default action, as a person clicking it would.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

PATH = "/org/freedesktop/Notifications"
NAME = "org.freedesktop.Notifications"


def main() -> None:
    conn = open_dbus_connection(bus="SESSION")
    conn.send_and_get_reply(message_bus.RequestName(NAME))
    emitter = DBusAddress(PATH, interface=NAME)
    lock = threading.Lock()
    print(json.dumps({"address": os.environ["DBUS_SESSION_BUS_ADDRESS"]}), flush=True)

    def clicks() -> None:
        for line in sys.stdin:
            verb, _, ident = line.strip().partition(" ")
            if verb == "click":
                with lock:
                    conn.send(new_signal(emitter, "ActionInvoked", "us", (int(ident), "default")))
                    conn.send(new_signal(emitter, "NotificationClosed", "uu", (int(ident), 2)))

    threading.Thread(target=clicks, daemon=True).start()
    next_id = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        with lock:
            if member == "GetCapabilities":
                conn.send(new_method_return(msg, "as", (["actions", "body"],)))
            elif member == "GetServerInformation":
                conn.send(new_method_return(msg, "ssss", ("test", "sandgate", "1", "1.2")))
            elif member == "Notify":
                app, replaces, _icon, summary, body, actions, hints, _timeout = msg.body
                if replaces:
                    ident = replaces
                else:
                    next_id += 1
                    ident = next_id
                conn.send(new_method_return(msg, "u", (ident,)))
                urgency = hints.get("urgency", ("y", 1))[1]
                print(json.dumps({"id": ident, "replaces": replaces, "app": app,
                                  "summary": summary, "body": body, "actions": actions,
                                  "urgency": urgency}), flush=True)  # fmt: skip
            elif member == "CloseNotification":
                conn.send(new_method_return(msg))


if __name__ == "__main__":
    main()
