package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/blob/local"
	"github.com/parley-chat/parley/internal/blob/s3"
)

// openMedia builds the blob store the configuration names (S3 when
// --s3-endpoint is set, else encrypted files under <data-dir>/blobs) and
// the media options of the app. The URL-signing key is derived from the
// blob key, so nodes sharing one also accept each other's signed links.
func openMedia(ctx context.Context, cfg Config) (app.MediaOptions, error) {
	key, err := local.LoadKey(cfg.DataDir, cfg.BlobKey)
	if err != nil {
		return app.MediaOptions{}, err
	}
	var blobs parley.Blobs
	if cfg.S3Endpoint != "" {
		blobs, err = s3.Open(ctx, s3.Config{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, Prefix: cfg.S3Prefix}, key)
	} else {
		blobs, err = local.New(cfg.DataDir, key)
	}
	if err != nil {
		return app.MediaOptions{}, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("parley signed file links v1"))
	limits := app.DefaultMediaLimits()
	limits.MaxFileBytes = cfg.MaxFileBytes
	limits.QuotaBytes = cfg.UserQuotaBytes
	limits.Allow, limits.Deny = cfg.FileTypesAllow, cfg.FileTypesDeny
	limits.Grace = cfg.MediaGrace
	return app.MediaOptions{Blobs: blobs, Limits: limits, SignKey: m.Sum(nil)}, nil
}

// startMediaSweep garbage-collects files every hour (at most every grace
// period) until Close.
func (s *Server) startMediaSweep() {
	every := min(time.Hour, s.cfg.MediaGrace)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), every)
				res, err := s.App.SweepMedia(ctx)
				cancel()
				if err != nil {
					s.log.Warn("media sweep failed", "err", err)
				} else if res.Records+res.Uploads+res.Blobs > 0 {
					s.log.Info("media sweep", "records", res.Records, "uploads", res.Uploads, "blobs", res.Blobs)
				}
			}
		}
	}()
	s.closers = append(s.closers, func() error { close(stop); <-done; return nil })
}
