//go:build !linux

package gateway

import "errors"

// poller is Linux-only; elsewhere every connection keeps a blocked reader.
type poller struct{}

func newPoller() (*poller, error)          { return nil, errors.New("no epoll on this platform") }
func (p *poller) arm(*Conn) error          { return errors.New("no poller") }
func (p *poller) forget(*Conn)             {}
func (p *poller) close()                   {}
func (c *Conn) readNB([]byte) (int, error) { return 0, errWouldBlock }
