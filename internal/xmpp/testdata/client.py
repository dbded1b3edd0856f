#!/usr/bin/python3
"""A scripted XMPP client on slixmpp (Debian's python3-slixmpp), driven by
the Go tests over stdin/stdout: one JSON command per input line, one JSON
event per output line. Used against Parley and, as references, ejabberd and
prosody (docs/xmpp.md).

usage: client.py HOST PORT JID PASSWORD [MECHANISM]
"""
import base64
import io
import asyncio
import json
import logging
import os
import ssl
import sys
import threading

import slixmpp
from slixmpp import JID


def emit(**ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mech):
        super().__init__(jid, password, sasl_mech=mech or None)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for p in ("xep_0030", "xep_0199", "xep_0184", "xep_0333", "xep_0280",
                  "xep_0313", "xep_0359", "xep_0085", "xep_0198", "xep_0045", "xep_0308",
                  "xep_0066", "xep_0363", "xep_0191"):
            self.register_plugin(p)
        self["xep_0184"].auto_ack = True
        self["xep_0184"].auto_request = False
        self["xep_0198"].allow_resume = True
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("message_error", self.on_message)
        self.add_event_handler("receipt_received", self.on_receipt)
        self.add_event_handler("marker_displayed", self.on_displayed)
        self.add_event_handler("carbon_sent", self.on_carbon_sent)
        self.add_event_handler("presence_available", self.on_presence)
        self.add_event_handler("presence_unavailable", self.on_presence)
        self.add_event_handler("failed_auth", lambda _: emit(event="failed_auth"))
        self.add_event_handler("stream_error", lambda e: emit(event="stream_error", condition=e["condition"], text=e["text"]))
        self.quitting = False
        self.done = asyncio.get_event_loop().create_future()
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("session_resumed", lambda _: emit(event="session_resumed"))
        self.add_event_handler("blocked", lambda iq: self.on_block_push(iq, "block"))
        self.add_event_handler("unblocked", lambda iq: self.on_block_push(iq, "unblock"))
        self.add_event_handler("chatstate_composing", lambda m: emit(event="composing", frm=m["from"].bare))

    def on_disconnected(self, _):
        emit(event="disconnected")
        if self.quitting and not self.done.done():
            self.done.set_result(None)

    async def start(self, _):
        await self.get_roster()
        self.send_presence()
        emit(event="session_start", jid=str(self.boundjid),
             roster=sorted(str(j) for j in self.client_roster.keys() if j != self.boundjid.bare))

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            emit(event="message", frm=msg["from"].bare, body=msg["body"], id=msg["id"],
                 stanza_id=msg["stanza_id"]["id"], delayed=bool(msg["delay"]["stamp"]), oob=msg["oob"]["url"],
                 replace=msg["replace"]["id"] if msg.xml.find("{urn:xmpp:message-correct:0}replace") is not None else "")
        elif msg["type"] == "error":
            emit(event="message_error", id=msg["id"], condition=msg["error"]["condition"], text=msg["error"]["text"],
                 blocked=msg.xml.find(".//{urn:xmpp:blocking:errors}blocked") is not None)

    def on_block_push(self, iq, op):
        iq.reply().send()
        emit(event="block_push", op=op, items=sorted(str(j) for j in iq[op]["items"]))

    def on_groupchat(self, msg):
        emit(event="groupchat", room=msg["from"].bare, nick=msg["from"].resource, body=msg["body"], id=msg["id"])

    def on_receipt(self, msg):
        emit(event="receipt", frm=msg["from"].bare, id=msg["receipt"])

    def on_displayed(self, msg):
        emit(event="displayed", frm=msg["from"].bare, id=msg["displayed"]["id"])

    def on_carbon_sent(self, msg):
        inner = msg["carbon_sent"]
        emit(event="carbon_sent", to=inner["to"].bare, body=inner["body"])

    def on_presence(self, p):
        if p["from"].bare != self.boundjid.bare:
            emit(event="presence", frm=p["from"].bare, type=p["type"])

    async def command(self, cmd):
        op = cmd["op"]
        try:
            if op == "send":
                m = self.make_message(mto=cmd["to"], mbody=cmd["body"], mtype="chat")
                if cmd.get("id"):
                    m["id"] = cmd["id"]
                if cmd.get("receipt"):
                    m["request_receipt"] = True
                if cmd.get("markable"):
                    m["markable"] = True
                if cmd.get("replace"):
                    m["replace"]["id"] = cmd["replace"]
                if cmd.get("oob"):
                    m["oob"]["url"] = cmd["oob"]
                m.send()
                emit(event="sent", id=m["id"])
            elif op == "displayed":
                self["xep_0333"].send_marker(JID(cmd["to"]), cmd["id"], "displayed")
                emit(event="ok", op=op)
            elif op == "composing":
                self["xep_0085"]  # loaded
                m = self.make_message(mto=cmd["to"], mtype="chat")
                m["chat_state"] = "composing"
                m.send()
                emit(event="ok", op=op)
            elif op == "carbons":
                await self["xep_0280"].enable()
                emit(event="ok", op=op)
            elif op == "mam":
                rsm = {"max": cmd.get("max", 10)}
                if cmd.get("before") is not None:
                    rsm["before"] = cmd["before"]
                if cmd.get("after"):
                    rsm["after"] = cmd["after"]
                iq = await self["xep_0313"].retrieve(with_jid=JID(cmd["with"]) if cmd.get("with") else None,
                                                    jid=JID(cmd["jid"]) if cmd.get("jid") else None, rsm=rsm)
                res = []
                for r in iq["mam"]["results"]:
                    fwd = r["mam_result"]["forwarded"]["stanza"]
                    res.append({"id": r["mam_result"]["id"], "frm": fwd["from"].bare, "body": fwd["body"]})
                fin = iq.xml.find("{urn:xmpp:mam:2}fin")
                emit(event="mam", results=res, complete=fin is not None and fin.get("complete") in ("true", "1"),
                     first=iq["mam_fin"]["rsm"]["first"], last=iq["mam_fin"]["rsm"]["last"])
            elif op == "ping":
                await self["xep_0199"].ping(JID(self.boundjid.domain))
                emit(event="ok", op=op)
            elif op == "join":
                await self["xep_0045"].join_muc_wait(JID(cmd["room"]), cmd["nick"], maxstanzas=0, timeout=20)
                emit(event="joined", room=cmd["room"])
            elif op == "groupsend":
                self.send_message(mto=cmd["room"], mbody=cmd["body"], mtype="groupchat")
                emit(event="sent")
            elif op == "upload":
                # slixmpp 1.8.3's own discovery (get_info_from_domain) passes
                # coroutines to asyncio.wait, which Python 3.11 refuses: walk
                # disco#items and disco#info here, as it would, then let its
                # XEP-0363 code request the slot and PUT the file.
                up = self["xep_0363"]
                if up.upload_service is None:
                    items = await self["xep_0030"].get_items(jid=JID(self.boundjid.domain), timeout=20)
                    for item in items["disco_items"]["items"]:
                        info = await self["xep_0030"].get_info(jid=JID(item[0]), timeout=20)
                        if ("store", "file") in [(i[0], i[1]) for i in info["disco_info"]["identities"]] and \
                                "urn:xmpp:http:upload:0" in info["disco_info"]["features"]:
                            up.upload_service = info["from"]
                            for form in info["disco_info"].iterables:
                                values = form["values"]
                                if values.get("FORM_TYPE") == ["urn:xmpp:http:upload:0"]:
                                    up.max_file_size = int(values["max-file-size"])
                    if up.upload_service is None:
                        raise RuntimeError("no upload service found")
                    emit(event="upload_service", jid=str(up.upload_service), max=up.max_file_size)
                data = base64.b64decode(cmd["data"])
                url = await self["xep_0363"].upload_file(
                    cmd["name"], size=len(data), content_type=cmd.get("type"),
                    input_file=io.BytesIO(data), domain=JID(self.boundjid.domain), timeout=20)
                emit(event="uploaded", url=url)
            elif op == "blocklist":
                iq = await self["xep_0191"].get_blocked(timeout=20)
                emit(event="blocklist", items=sorted(str(j) for j in iq["blocklist"]["items"]))
            elif op == "block":
                await self["xep_0191"].block([JID(j) for j in cmd["jids"]], timeout=20)
                emit(event="ok", op=op)
            elif op == "unblock":
                await self["xep_0191"].unblock([JID(j) for j in cmd.get("jids", [])], timeout=20)
                emit(event="ok", op=op)
            elif op == "raw":
                self.send_raw(cmd["xml"])
                emit(event="ok", op=op)
            elif op == "drop":
                # Cut the TCP connection without closing the stream (a lost
                # network), leaving a stream-management session to resume;
                # reconnect after a pause (slixmpp then sends <resume/>).
                self.transport.abort()
                emit(event="ok", op=op)
                await asyncio.sleep(cmd.get("pause", 1.0))
                self.connect(self.address, force_starttls=True)
            elif op == "quit":
                self.quitting = True
                if self.transport is None:
                    if not self.done.done():
                        self.done.set_result(None)
                else:
                    self.disconnect()
            else:
                emit(event="error", text="unknown op " + op)
        except Exception as e:  # reported, not fatal: the test decides
            emit(event="error", op=op, text="%s: %s" % (type(e).__name__, e))


def main():
    if os.environ.get("SLIXMPP_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    host, port, jid, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    mech = sys.argv[5] if len(sys.argv) > 5 else ""
    xmpp = Client(jid, password, mech)
    loop = asyncio.get_event_loop()

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if line:
                cmd = json.loads(line)
                loop.call_soon_threadsafe(lambda c=cmd: asyncio.ensure_future(xmpp.command(c)))
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(xmpp.command({"op": "quit"})))

    threading.Thread(target=reader, daemon=True).start()
    xmpp.connect((host, port), force_starttls=True)
    loop.run_until_complete(xmpp.done)


if __name__ == "__main__":
    main()
