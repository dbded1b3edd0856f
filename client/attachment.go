package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Files and media. Uploads and downloads stream; note that the default
// http.Client of New has a 60-second overall timeout, so give large
// transfers a client without one (WithHTTPClient(&http.Client{})) and
// bound them with the context instead.

// doRaw sends body (size bytes, -1 if unknown) as application/octet-stream
// and decodes a JSON answer into out.
func (c *Client) doRaw(ctx context.Context, method, path string, query url.Values, body io.Reader, size int64,
	out any) (int, error) {
	return c.send(ctx, method, path, query, body, size, "application/octet-stream", out)
}

// Upload stores a file in one streamed request and returns the unsent
// attachment to reference in SendRequest.AttachmentIDs. size is r's length
// (-1 if unknown: sent chunked). The server decides the type from the
// content; name is only the file name shown to others.
func (c *Client) Upload(ctx context.Context, name string, r io.Reader, size int64) (parley.Attachment, error) {
	var out parley.Attachment
	_, err := c.doRaw(ctx, http.MethodPost, "/api/v1/attachments", url.Values{"name": {name}}, r, size, &out)
	return out, err
}

// Attachment returns a file's metadata.
func (c *Client) Attachment(ctx context.Context, id string) (parley.Attachment, error) {
	var out parley.Attachment
	_, err := c.do(ctx, http.MethodGet, "/api/v1/attachments/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// DeleteAttachment discards an unsent file.
func (c *Client) DeleteAttachment(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/attachments/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// Download is an open file response. Close Body.
type Download struct {
	Body        io.ReadCloser
	Status      int    // 200, or 206 for a range
	ContentType string // the sniffed type
	Disposition string // Content-Disposition ("inline" only for raster images)
	Length      int64  // bytes in Body (-1 if unknown)
	Header      http.Header
}

// FetchOptions select what Fetch downloads.
type FetchOptions struct {
	Thumbnail bool   // the server-made preview instead of the file
	Range     string // an HTTP Range header value, e.g. "bytes=0-1023"
}

// Fetch downloads a file (or its thumbnail) the caller may read.
func (c *Client) Fetch(ctx context.Context, id string, o FetchOptions) (*Download, error) {
	p := "/api/v1/attachments/" + url.PathEscape(id) + "/content"
	if o.Thumbnail {
		p = "/api/v1/attachments/" + url.PathEscape(id) + "/thumbnail"
	}
	return c.fetch(ctx, p, o.Range, true)
}

// FetchLink downloads through a signed link (from Link) without sending
// the bearer token.
func (c *Client) FetchLink(ctx context.Context, link string) (*Download, error) {
	return c.fetch(ctx, link, "", false)
}

func (c *Client) fetch(ctx context.Context, path, rng string, auth bool) (*Download, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, parley.Invalid("", "build request: %v", err)
	}
	req.Header.Set("User-Agent", c.ua)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	if t := c.Token(); t != "" && auth {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &parley.Error{Code: parley.CodeUnavailable, Message: "request failed: " + err.Error(), Err: err}
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return &Download{Body: resp.Body, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		Disposition: resp.Header.Get("Content-Disposition"), Length: resp.ContentLength, Header: resp.Header}, nil
}

// Link returns a short-lived signed path (relative to the server) that
// fetches the file without credentials, and when it expires.
func (c *Client) Link(ctx context.Context, id string, thumbnail bool) (string, time.Time, error) {
	q := url.Values{}
	if thumbnail {
		q.Set("variant", "thumbnail")
	}
	var out struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/attachments/"+url.PathEscape(id)+"/link", q, nil, &out)
	return out.URL, out.ExpiresAt, err
}

// CreateUpload starts a resumable upload of size bytes.
func (c *Client) CreateUpload(ctx context.Context, name string, size int64) (parley.Upload, error) {
	var out parley.Upload
	_, err := c.do(ctx, http.MethodPost, "/api/v1/uploads", nil, map[string]any{"name": name, "size": size}, &out)
	return out, err
}

// UploadStatus returns an upload's progress: Received is the offset to
// continue from.
func (c *Client) UploadStatus(ctx context.Context, id string) (parley.Upload, error) {
	var out parley.Upload
	_, err := c.do(ctx, http.MethodGet, "/api/v1/uploads/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// PutPart stores n bytes of r at offset.
func (c *Client) PutPart(ctx context.Context, id string, offset int64, r io.Reader, n int64) (parley.Upload, error) {
	var out parley.Upload
	_, err := c.doRaw(ctx, http.MethodPut, "/api/v1/uploads/"+url.PathEscape(id),
		url.Values{"offset": {strconv.FormatInt(offset, 10)}}, r, n, &out)
	return out, err
}

// CompleteUpload turns a fully received upload into an attachment.
func (c *Client) CompleteUpload(ctx context.Context, id string) (parley.Attachment, error) {
	var out parley.Attachment
	_, err := c.do(ctx, http.MethodPost, "/api/v1/uploads/"+url.PathEscape(id)+"/complete", nil, nil, &out)
	return out, err
}

// CancelUpload drops an upload.
func (c *Client) CancelUpload(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/uploads/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// ResumableUpload uploads size bytes of r in parts of chunk bytes,
// surviving dropped connections: after a failed part it asks the server
// where the upload stands and goes on from there (up to retries failures
// in a row). Pass an existing upload id to resume an earlier run, or "".
func (c *Client) ResumableUpload(ctx context.Context, uploadID, name string, r io.ReaderAt, size, chunk int64,
	retries int) (parley.Attachment, error) {
	if uploadID == "" {
		u, err := c.CreateUpload(ctx, name, size)
		if err != nil {
			return parley.Attachment{}, err
		}
		uploadID = u.ID
	}
	u, err := c.UploadStatus(ctx, uploadID)
	if err != nil {
		return parley.Attachment{}, err
	}
	off, failures := u.Received, 0
	for off < size {
		n := min(chunk, size-off)
		u, err := c.PutPart(ctx, uploadID, off, io.NewSectionReader(r, off, n), n)
		if err == nil {
			off, failures = u.Received, 0
			continue
		}
		if ctx.Err() != nil || failures >= retries || !retryable(err) {
			return parley.Attachment{}, err
		}
		failures++
		st, serr := c.UploadStatus(ctx, uploadID)
		if serr != nil {
			if !retryable(serr) {
				return parley.Attachment{}, serr
			}
			continue
		}
		off = st.Received
	}
	return c.CompleteUpload(ctx, uploadID)
}

// retryable: transport failures, a part cut short, or an offset the
// server does not expect (it tells where to continue).
func retryable(err error) bool {
	var e *parley.Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Code == parley.CodeUnavailable || e.Code == parley.CodeConflict ||
		(e.Code == parley.CodeInvalid && (e.Field == "file" || e.Field == "length"))
}

// SetAvatar sets the caller's profile picture from an image and returns
// the URL path it is served at.
func (c *Client) SetAvatar(ctx context.Context, r io.Reader, size int64) (string, parley.Attachment, error) {
	var out struct {
		AvatarURL string            `json:"avatar_url"`
		Avatar    parley.Attachment `json:"avatar"`
	}
	_, err := c.doRaw(ctx, http.MethodPut, "/api/v1/me/avatar", nil, r, size, &out)
	return out.AvatarURL, out.Avatar, err
}

// SetConversationAvatar sets a group's or channel's picture.
func (c *Client) SetConversationAvatar(ctx context.Context, conversationID string, r io.Reader, size int64) (parley.Conversation, error) {
	var out parley.Conversation
	_, err := c.doRaw(ctx, http.MethodPut, convPath(conversationID, "avatar"), nil, r, size, &out)
	return out, err
}

// FetchUserAvatar downloads a user's picture.
func (c *Client) FetchUserAvatar(ctx context.Context, userID string) (*Download, error) {
	return c.fetch(ctx, "/api/v1/users/"+url.PathEscape(userID)+"/avatar", "", true)
}

// FetchConversationAvatar downloads a conversation's picture.
func (c *Client) FetchConversationAvatar(ctx context.Context, conversationID string) (*Download, error) {
	return c.fetch(ctx, convPath(conversationID, "avatar"), "", true)
}

// UserAvatars maps each of the given users who has a profile picture to
// its URL path (fetch it with FetchUserAvatar, or with the token from a
// browser). At most 200 ids per call.
func (c *Client) UserAvatars(ctx context.Context, userIDs []string) (map[string]string, error) {
	var out struct {
		Avatars map[string]string `json:"avatars"`
	}
	q := url.Values{}
	if len(userIDs) > 0 {
		q.Set("user_ids", strings.Join(userIDs, ","))
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/avatars", q, nil, &out)
	return out.Avatars, err
}
