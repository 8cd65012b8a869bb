package plugins

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Kinds of manifest entry a Change is about.
const (
	KindSync    = "sync"
	KindAction  = "action"
	KindModel   = "model"
	KindWebhook = "webhook"
)

// What a Change did to its entry: added or removed it, or changed one of its fields (a sync's
// type, frequency, models, export or auto_start; an action's or the webhook's export).
const (
	ChangeAdded     = "added"
	ChangeRemoved   = "removed"
	ChangeType      = "type"
	ChangeFrequency = "frequency"
	ChangeModels    = "models"
	ChangeExport    = "export"
	ChangeAutoStart = "auto_start"
)

// Change is one difference a new version of an integration makes to the active one.
type Change struct {
	// Kind is KindSync, KindAction, KindModel or KindWebhook.
	Kind string `json:"kind"`
	// Name is the sync's, action's or model's name; empty for the webhook.
	Name string `json:"name,omitempty"`
	// Change is ChangeAdded, ChangeRemoved or the field that changed (ChangeType...).
	Change string `json:"change"`
	// From and To are a changed field's old and new values.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Destructive marks a change that orphans what the store keeps for the entry; Reason
	// says what.
	Destructive bool   `json:"destructive,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// String describes the change on one line, e.g. "~ sync contacts: frequency 1m -> 5m" or
// "- model Lead (destructive: ...)".
func (c Change) String() string {
	subject := c.Kind
	if c.Name != "" {
		subject += " " + c.Name
	}
	var s string
	switch c.Change {
	case ChangeAdded:
		s = "+ " + subject
	case ChangeRemoved:
		s = "- " + subject
	default:
		s = fmt.Sprintf("~ %s: %s %s -> %s", subject, c.Change, orNone(c.From), orNone(c.To))
	}
	if c.Destructive {
		s += " (destructive: " + c.Reason + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Changes are a new version's changes, in the order Diff returns them.
type Changes []Change

// Destructive returns the destructive changes among cs.
func (cs Changes) Destructive() Changes {
	var out Changes
	for _, c := range cs {
		if c.Destructive {
			out = append(out, c)
		}
	}
	return out
}

// String lists the changes one a line.
func (cs Changes) String() string {
	lines := make([]string, len(cs))
	for i, c := range cs {
		lines[i] = c.String()
	}
	return strings.Join(lines, "\n")
}

// ErrDestructive is wrapped by the error of a deploy refused because it removes a sync or a
// model: see [DestructiveError].
var ErrDestructive = errors.New("destructive change")

// DestructiveError refuses a deploy whose new version removes a sync or a model that the
// active version has, unless the deploy is forced. It lists the destructive changes.
type DestructiveError struct {
	Integration string
	// Active is the version the deploy would have replaced.
	Active  int
	Changes Changes
}

func (e *DestructiveError) Error() string {
	return fmt.Sprintf("deploy of %s refused: the new version makes %d destructive change(s) to version %d; deploy with force to accept:\n%s",
		e.Integration, len(e.Changes), e.Active, e.Changes)
}

func (e *DestructiveError) Unwrap() error { return ErrDestructive }

// Diff returns what new changes against old: syncs, actions and models added or removed; a
// sync's type, frequency, models, export and auto_start changed; an action's export changed;
// the webhook handler added, removed or re-pointed. A nil old (a first deploy) makes every
// entry of new an addition.
//
// A removed sync is destructive (its checkpoints and schedules are orphaned, and the records
// it kept current are no longer updated), and so is a removed model (its records are
// orphaned: no sync writes them and the API no longer serves them as the integration's).
// Nothing else is.
//
// Changes come in a stable order: syncs, actions, models, then the webhook; by name within
// a kind; for one sync, removal or addition first, then type, frequency, models, export,
// auto_start.
func Diff(old, new *Manifest) Changes {
	if old == nil {
		old = &Manifest{}
	}
	if new == nil {
		new = &Manifest{}
	}
	var cs Changes
	for _, name := range unionKeys(old.Syncs, new.Syncs) {
		o, inOld := old.Syncs[name]
		n, inNew := new.Syncs[name]
		switch {
		case !inNew:
			cs = append(cs, Change{Kind: KindSync, Name: name, Change: ChangeRemoved, Destructive: true,
				Reason: fmt.Sprintf("its checkpoints and schedules are dropped and the records it keeps (%s) are no longer updated",
					strings.Join(o.Models, ", "))})
		case !inOld:
			cs = append(cs, Change{Kind: KindSync, Name: name, Change: ChangeAdded})
		default:
			cs = append(cs, syncChanges(name, o, n)...)
		}
	}
	for _, name := range unionKeys(old.Actions, new.Actions) {
		o, inOld := old.Actions[name]
		n, inNew := new.Actions[name]
		switch {
		case !inNew:
			cs = append(cs, Change{Kind: KindAction, Name: name, Change: ChangeRemoved})
		case !inOld:
			cs = append(cs, Change{Kind: KindAction, Name: name, Change: ChangeAdded})
		case o.Export != n.Export:
			cs = append(cs, Change{Kind: KindAction, Name: name, Change: ChangeExport, From: o.Export, To: n.Export})
		}
	}
	for _, name := range unionKeys(old.Models, new.Models) {
		_, inOld := old.Models[name]
		_, inNew := new.Models[name]
		switch {
		case !inNew:
			cs = append(cs, Change{Kind: KindModel, Name: name, Change: ChangeRemoved, Destructive: true,
				Reason: "its stored records are orphaned"})
		case !inOld:
			cs = append(cs, Change{Kind: KindModel, Name: name, Change: ChangeAdded})
		}
	}
	switch o, n := old.Webhook, new.Webhook; {
	case o != nil && n == nil:
		cs = append(cs, Change{Kind: KindWebhook, Change: ChangeRemoved})
	case o == nil && n != nil:
		cs = append(cs, Change{Kind: KindWebhook, Change: ChangeAdded})
	case o != nil && n != nil && o.Export != n.Export:
		cs = append(cs, Change{Kind: KindWebhook, Change: ChangeExport, From: o.Export, To: n.Export})
	}
	return cs
}

// syncChanges compares two definitions of one sync, field by field.
func syncChanges(name string, o, n Sync) Changes {
	var cs Changes
	field := func(change, from, to string) {
		if from != to {
			cs = append(cs, Change{Kind: KindSync, Name: name, Change: change, From: from, To: to})
		}
	}
	field(ChangeType, o.Type, n.Type)
	field(ChangeFrequency, o.Frequency.String(), n.Frequency.String())
	field(ChangeModels, strings.Join(o.Models, ", "), strings.Join(n.Models, ", "))
	field(ChangeExport, o.Export, n.Export)
	field(ChangeAutoStart, strconv.FormatBool(o.AutoStart), strconv.FormatBool(n.AutoStart))
	return cs
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
