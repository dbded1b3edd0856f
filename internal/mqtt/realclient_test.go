package mqtt_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// need returns the path of a command, skipping the test without it unless
// PARLEY_TEST_REQUIRE_MQTT_CLIENTS is set (.ci/run sets it).
func need(t *testing.T, cmd string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_MQTT_CLIENTS") != "" {
			t.Fatalf("%s not installed", cmd)
		}
		t.Skipf("%s not installed", cmd)
	}
	return p
}

func hostPort(t *testing.T, addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// TestMosquittoClients: Debian's mosquitto_sub (MQTT 3.1.1 and 5, QoS 1)
// receives what mosquitto_pub and the REST API send, in order; a
// persistent mosquitto_sub session (-c) gets what it missed offline.
func TestMosquittoClients(t *testing.T) {
	pub := need(t, "mosquitto_pub")
	subCmd := need(t, "mosquitto_sub")
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	host, port := hostPort(t, mqttAddr(e))
	run := func(name string, args ...string) *exec.Cmd {
		cctx, cancel := context.WithTimeout(ctx, wait)
		t.Cleanup(cancel)
		return exec.CommandContext(cctx, name, append([]string{"-h", host, "-p", port}, args...)...)
	}
	for _, v := range []string{"mqttv311", "mqttv5"} {
		// A persistent session (-c; MQTT 5 also needs an expiry, -x):
		// subscribe and leave (-E), miss two messages, come back for them.
		session := []string{"-V", v, "-u", "bob", "-P", bob.Token(), "-t", msgTopic(conv), "-q", "1", "-c", "-i", "bob-" + v}
		if v == "mqttv5" {
			session = append(session, "-x", "3600")
		}
		if out, err := run(subCmd, append(session, "-E")...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_sub -E: %v %s", err, out)
		}
		if out, err := run(pub, "-V", v, "-u", "alice", "-P", apitest.Password, "-t", sendTopic(conv), "-q", "1",
			"-m", "from mosquitto_pub "+v).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, out)
		}
		if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "rest-" + v, Body: "from rest " + v}); err != nil {
			t.Fatal(err)
		}
		// -d: the transcript (CONNACK, SUBACK, each PUBLISH with its dup
		// flag and packet id) is printed on failure.
		out, err := run(subCmd, append(session, "-C", "2", "-d")...).Output()
		if err != nil {
			t.Fatalf("mosquitto_sub: %v\n%s", err, out)
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "{") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 2 {
			t.Fatalf("%s: got %d frames:\n%s", v, len(lines), out)
		}
		var bodies []string
		for _, l := range lines {
			var f struct {
				Type    string
				Message struct{ Body string }
			}
			if err := json.Unmarshal([]byte(l), &f); err != nil || f.Type != "message" {
				t.Fatalf("%s: frame %q: %v", v, l, err)
			}
			bodies = append(bodies, f.Message.Body)
		}
		if bodies[0] != "from mosquitto_pub "+v || bodies[1] != "from rest "+v {
			t.Fatalf("%s: bodies %q", v, bodies)
		}
	}

	// A refused publish: mosquitto_pub -q 1 to a conversation carol is not in.
	carol, _ := e.NewUser(t, "carol")
	out, _ := run(pub, "-V", "mqttv5", "-u", "carol", "-P", carol.Token(), "-t", sendTopic(conv), "-q", "1", "-m", "x", "-d").CombinedOutput()
	if !strings.Contains(string(out), "PUBACK") || !strings.Contains(strings.ToLower(string(out)), "not authorized") {
		t.Fatalf("mosquitto_pub to a foreign conversation: %s", out)
	}
	if err := run(pub, "-u", "alice", "-P", "wrong", "-t", sendTopic(conv), "-m", "x").Run(); err == nil {
		t.Fatal("mosquitto_pub with a wrong password succeeded")
	}
}

// TestPaho: the Eclipse paho Python client (MQTT 5) sends with correlation
// data and receives the message frame; the resend stores nothing new.
func TestPaho(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import paho.mqtt.client").Run(); err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_MQTT_CLIENTS") != "" {
			t.Fatal("python3-paho-mqtt not installed")
		}
		t.Skip("python3-paho-mqtt not installed")
	}
	e := start(t, nil)
	alice, _ := e.NewUser(t, "alice")
	conv := group(t, alice)
	host, port := hostPort(t, mqttAddr(e))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/paho_roundtrip.py", host, port, "alice", alice.Token(), conv).CombinedOutput()
	if err != nil {
		t.Fatalf("paho: %v\n%s", err, out)
	}
	var r struct {
		Connack int
		Suback  []int
		Acks    int
		QoS     int
		Frame   struct {
			Type    string
			Message struct {
				Body        string
				ClientMsgID string `json:"client_msg_id"`
			}
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if r.Connack != 0 || len(r.Suback) != 1 || r.Suback[0] != 1 || r.Acks != 2 || r.QoS != 1 || r.Frame.Type != "message" {
		t.Fatalf("paho: %s", out)
	}
	hist, err := alice.History(ctx, conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range hist {
		if m.ClientMsgID == "paho-1" && m.Body == "hello from paho" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("paho-1 stored %d times", n)
	}
}

// TestMosquittoWill: Debian's mosquitto_sub with --will-topic is refused at
// CONNECT (not authorized) in MQTT 3.1.1 and 5, and exits with an error
// rather than running without its will; mosquitto_pub -r (retain) on a send
// topic sends the message but retains nothing.
func TestMosquittoWill(t *testing.T) {
	pub := need(t, "mosquitto_pub")
	subCmd := need(t, "mosquitto_sub")
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	conv := group(t, alice)
	host, port := hostPort(t, mqttAddr(e))
	run := func(name string, args ...string) ([]byte, error) {
		cctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		return exec.CommandContext(cctx, name, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	}
	for _, v := range []string{"mqttv311", "mqttv5"} {
		out, err := run(subCmd, "-V", v, "-u", "alice", "-P", alice.Token(), "-t", msgTopic(conv), "-C", "1", "-W", "5",
			"--will-topic", msgTopic(conv), "--will-payload", `{"type":"message","message":{"body":"forged"}}`, "--will-retain")
		t.Logf("%s: %v %s", v, err, out)
		if err == nil || !strings.Contains(strings.ToLower(string(out)), "not author") {
			t.Fatalf("%s: mosquitto_sub --will-topic: %v %s", v, err, out)
		}
	}
	if out, err := run(pub, "-u", "alice", "-P", alice.Token(), "-t", sendTopic(conv), "-q", "1", "-r", "-m", "retained?"); err != nil {
		t.Fatalf("mosquitto_pub -r: %v %s", err, out)
	}
	// A retained message would be printed at once; -W ends the wait.
	out, _ := run(subCmd, "-u", "alice", "-P", alice.Token(), "-t", msgTopic(conv), "-C", "1", "-W", "2")
	if strings.Contains(string(out), "retained?") {
		t.Fatalf("a later mosquitto_sub got %s", out)
	}
	hist, err := alice.History(ctx, conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range hist {
		if m.Body == "retained?" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the retained send is stored %d times, want once", n)
	}
	checkRetained(t, e.Server.MQTT)
}
