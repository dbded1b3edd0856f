# Driven by TestPaho: an MQTT 5 paho client subscribes to a conversation,
# sends one message with a correlation data client_msg_id (twice: the resend
# must return the same seq) and prints the frame it receives as JSON.
import json, sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

host, port, user, token, conv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
got, subscribed, acks = threading.Event(), threading.Event(), []
result = {}

def on_connect(c, userdata, flags, rc, props=None):
    result["connack"] = rc.value if hasattr(rc, "value") else rc
    c.subscribe("parley/c/%s/m" % conv, qos=1)

def on_subscribe(c, userdata, mid, rcs, props=None):
    result["suback"] = [r.value for r in rcs]
    subscribed.set()

def on_message(c, userdata, msg):
    result["frame"] = json.loads(msg.payload)
    result["qos"] = msg.qos
    got.set()

def on_publish(c, userdata, mid):
    acks.append(mid)

c = mqtt.Client(client_id="paho-test", protocol=mqtt.MQTTv5)
c.username_pw_set(user, token)
c.on_connect, c.on_subscribe, c.on_message, c.on_publish = on_connect, on_subscribe, on_message, on_publish
c.connect(host, port)
c.loop_start()
if not subscribed.wait(20):
    sys.exit("no SUBACK")
props = Properties(PacketTypes.PUBLISH)
props.CorrelationData = b"paho-1"
for _ in range(2):
    c.publish("parley/c/%s/send" % conv, "hello from paho", qos=1, properties=props).wait_for_publish(20)
if not got.wait(20):
    sys.exit("no message")
c.disconnect()
c.loop_stop()
result["acks"] = len(acks)
print(json.dumps(result))
