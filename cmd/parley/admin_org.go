package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/parley-chat/parley"
)

// orgFlags are the settings flags shared by `org create` and `org update`;
// set reports which were given on the command line.
type orgFlags struct {
	name, registration             *string
	maxUsers, maxMembers, maxChars *int
	maxUpload                      *int64
	require2FA                     *bool
}

func (c *adminCmd) orgFlags() orgFlags {
	return orgFlags{
		name:         c.fs.String("name", "", "display name of the organisation"),
		registration: c.fs.String("registration", "", "who may register: open, invite or closed (create default: invite)"),
		maxUsers:     c.fs.Int("max-users", 0, "accounts, bots included (0: no limit)"),
		maxMembers:   c.fs.Int("max-members", 0, "members of one conversation (0: the server's limit)"),
		maxChars:     c.fs.Int("max-message-chars", 0, "characters of a message (0: the server's limit)"),
		maxUpload:    c.fs.Int64("max-upload-bytes", 0, "bytes of one file (0: the server's limit)"),
		require2FA:   c.fs.Bool("require-2fa", false, "every member must sign in with a second factor"),
	}
}

// body returns the JSON fields of the flags given (all of them for
// create); limits not given keep their values in cur.
func (f orgFlags) body(c *adminCmd, all bool, cur parley.OrgLimits) map[string]any {
	set := map[string]bool{}
	c.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	b := map[string]any{}
	if all || set["name"] {
		b["name"] = *f.name
	}
	if *f.registration != "" {
		b["registration"] = *f.registration
	}
	l, changed := cur, all
	for name, apply := range map[string]func(){
		"max-users":         func() { l.MaxUsers = *f.maxUsers },
		"max-members":       func() { l.MaxMembers = *f.maxMembers },
		"max-message-chars": func() { l.MaxMessageChars = *f.maxChars },
		"max-upload-bytes":  func() { l.MaxUploadBytes = *f.maxUpload },
	} {
		if all || set[name] {
			apply()
			changed = true
		}
	}
	if changed {
		b["limits"] = l
	}
	if all || set["require-2fa"] {
		b["require_2fa"] = *f.require2FA
	}
	return b
}

func adminOrgCreate(ctx context.Context, c *adminCmd, args []string) error {
	slug := c.fs.String("slug", "", "unique short name people register with (required)")
	f := c.orgFlags()
	if _, err := c.parse(args, "--slug SLUG --name NAME [flags]", 0); err != nil {
		return err
	}
	if *slug == "" || *f.name == "" {
		c.fs.Usage()
		return errUsage
	}
	return c.withAPI(ctx, func() error {
		b := f.body(c, true, parley.OrgLimits{})
		b["slug"] = *slug
		var o parley.Organisation
		if err := c.call(ctx, "POST", "/api/v1/admin/orgs", b, &o); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "created organisation %s (id %s, registration %s)\n", o.Slug, o.ID, o.Registration)
		return nil
	})
}

func adminOrgList(ctx context.Context, c *adminCmd, args []string) error {
	if _, err := c.parse(args, "", 0); err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		os, err := c.orgs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tID\tNAME\tREGISTRATION\t2FA\tMAX USERS\tMAX MEMBERS\tMAX CHARS\tMAX UPLOAD")
		for _, o := range os {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%d\t%d\t%d\n", o.Slug, o.ID, o.Name, o.Registration, o.RequireTwoFactor,
				o.Limits.MaxUsers, o.Limits.MaxMembers, o.Limits.MaxMessageChars, o.Limits.MaxUploadBytes)
		}
		return tw.Flush()
	})
}

func adminOrgUpdate(ctx context.Context, c *adminCmd, args []string) error {
	f := c.orgFlags()
	pos, err := c.parse(args, "ORG [--name N] [--registration R] [--max-users N] … [--require-2fa=false]", 1)
	if err != nil {
		return err
	}
	return c.withAPI(ctx, func() error {
		o, err := c.org(ctx, pos[0])
		if err != nil {
			return err
		}
		b := f.body(c, false, o.Limits)
		if len(b) == 0 {
			return errors.New("nothing to change: give at least one flag")
		}
		if err := c.call(ctx, "PATCH", "/api/v1/admin/orgs/"+o.ID, b, &o); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "updated organisation %s (registration %s, require 2fa %v)\n", o.Slug, o.Registration, o.RequireTwoFactor)
		return nil
	})
}

func (c *adminCmd) orgs(ctx context.Context) ([]parley.Organisation, error) {
	var list struct{ Organisations []parley.Organisation }
	err := c.call(ctx, "GET", "/api/v1/admin/orgs", nil, &list)
	return list.Organisations, err
}

// org resolves an organisation's slug or id.
func (c *adminCmd) org(ctx context.Context, ref string) (parley.Organisation, error) {
	os, err := c.orgs(ctx)
	if err != nil {
		return parley.Organisation{}, err
	}
	for _, o := range os {
		if o.Slug == ref || o.ID == ref {
			return o, nil
		}
	}
	return parley.Organisation{}, fmt.Errorf("no organisation with slug or id %q", ref)
}
