"""pyvo.samp clients against a running hub (found through SAMP_HUB): registration,
metadata, subscriptions, notify, call/reply, callAndWait, hub events, faults, unregister.
Prints one line per check; the Rust test reads them."""

import threading
import time
import urllib.request
import xmlrpc.client

from pyvo.samp import SAMPIntegratedClient, SAMPHubProxy


def wait(event, what):
    if not event.wait(10):
        raise SystemExit(f"timed out waiting for {what}")


def client(name, **metadata):
    c = SAMPIntegratedClient(name=name, description=f"test client {name}", metadata=metadata, addr="127.0.0.1")
    c.connect()
    return c


a = client("A", **{"samp.icon.url": "http://127.0.0.1/a.png"})
events = {}
seen = threading.Event()


def on_event(private_key, sender_id, mtype, params, extra):
    events.setdefault(mtype, []).append(params)
    seen.set()


for mtype in ("samp.hub.event.register", "samp.hub.event.unregister", "samp.hub.event.metadata",
              "samp.hub.event.subscriptions"):
    a.bind_receive_notification(mtype, on_event)

b = client("B")
registered = a.get_registered_clients()
print("registered", "hub" in registered, b.get_public_id() in registered, a.get_public_id() in registered)
print("metadata", a.get_metadata(b.get_public_id())["samp.name"], b.get_metadata(a.get_public_id())["samp.icon.url"])

notes, note_seen = [], threading.Event()


def on_note(private_key, sender_id, mtype, params, extra):
    notes.append((sender_id, mtype, dict(params)))
    note_seen.set()


def on_call(private_key, sender_id, msg_id, mtype, params, extra):
    b.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {"twice": str(2 * int(params["n"]))}})


def on_slow(private_key, sender_id, msg_id, mtype, params, extra):
    pass  # never answers


b.bind_receive_notification("test.note", on_note)
b.bind_receive_call("test.double", on_call)
b.bind_receive_call("test.slow", on_slow)
subscribed = a.get_subscribed_clients("test.note")
print("subscribed", list(subscribed) == [b.get_public_id()], "test.double" in a.get_subscriptions(b.get_public_id()))

a.enotify(b.get_public_id(), "test.note", ra="83.63", dec="22.01")
wait(note_seen, "a notification")
sender, mtype, params = notes[0]
print("notify", sender == a.get_public_id(), mtype, params["ra"], params["dec"])
print("notifyAll", a.enotify_all("test.note", x="1") == [b.get_public_id()])

responses, response_seen = [], threading.Event()


def on_response(private_key, sender_id, msg_tag, response):
    responses.append((sender_id, msg_tag, response))
    response_seen.set()


a.bind_receive_response("tag-7", on_response)
a.call(b.get_public_id(), "tag-7", {"samp.mtype": "test.double", "samp.params": {"n": "21"}})
wait(response_seen, "a response")
sender, tag, response = responses[0]
print("call", sender == b.get_public_id(), tag, response["samp.status"], response["samp.result"]["twice"])

answer = a.ecall_and_wait(b.get_public_id(), "test.double", "5", n="50")
print("callAndWait", answer["samp.status"], answer["samp.result"]["twice"])
ping = a.ecall_and_wait("hub", "samp.app.ping", "5")
print("ping", ping["samp.status"])

started = time.monotonic()
try:
    a.ecall_and_wait(b.get_public_id(), "test.slow", "1")
    print("timeout none")
except Exception as error:  # the hub's fault, raised by the client
    print("timeout", "no reply" in str(error), round(time.monotonic() - started) <= 3)

# Faults: a wrong secret, an unknown key, an unknown client, something not XML-RPC.
proxy = xmlrpc.client.ServerProxy(a.hub.lockfile["samp.hub.xmlrpc.url"])
for name, call in [("secret", lambda: proxy.samp.hub.register("wrong")),
                   ("key", lambda: proxy.samp.hub.getRegisteredClients("nobody")),
                   ("client", lambda: proxy.samp.hub.getMetadata(a.get_private_key(), "c999")),
                   ("mtype", lambda: proxy.samp.hub.notify(a.get_private_key(), b.get_public_id(), {"x": "1"}))]:
    try:
        call()
        print("fault", name, False)
    except xmlrpc.client.Fault:
        print("fault", name, True)
request = urllib.request.Request(a.hub.lockfile["samp.hub.xmlrpc.url"], data=b"<not xml-rpc", method="POST")
print("garbage", b"<fault>" in urllib.request.urlopen(request).read())

# Events about a client that comes and goes.
seen.clear()
c = client("C")
deadline = time.monotonic() + 10
while time.monotonic() < deadline and not any(p.get("samp.id") == c.get_public_id() for p in events.get("samp.hub.event.metadata", [])):
    time.sleep(0.05)
c_id = c.get_public_id()
c.disconnect()
while time.monotonic() < deadline and not any(p.get("samp.id") == c_id for p in events.get("samp.hub.event.unregister", [])):
    time.sleep(0.05)
print("events", *(any(p.get("samp.id") == c_id for p in events.get(m, []))
                  for m in ("samp.hub.event.register", "samp.hub.event.metadata", "samp.hub.event.unregister")))

b_id = b.get_public_id()
b.disconnect()
print("unregister", b_id not in a.get_registered_clients())
a.disconnect()
print("done")
