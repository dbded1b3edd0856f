package sqlite

// SetRestartFrames sets the WAL size that makes the committer restart the
// WAL and returns a function that restores it.
func SetRestartFrames(n int64) (restore func()) {
	old := restartFrames
	restartFrames = n
	return func() { restartFrames = old }
}
