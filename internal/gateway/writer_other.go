//go:build !unix

package gateway

// rawConnOK reports whether non-blocking raw writes are implemented here;
// elsewhere writes block (bounded by WriteTimeout) on the writer goroutine.
const rawConnOK = false

func (w *writer) rawWrite(fd uintptr) bool { return true }
