package plugins

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// checkShape compares the YAML tree with the Manifest's Go types before it is
// decoded. The YAML library converts scalars freely (1.5 into an int field
// becomes 1, 123 into a string field becomes "123") and stops at the first
// unknown key; this pass refuses both and reports every problem at once.
//
// It returns the paths of the keys that hold a non-null value, so defaults can
// tell "left out" from "set to zero".
func checkShape(root ast.Node) (map[string]bool, error) {
	if n := (&sizer{anchors: map[string]int{}}).size(root); n > maxNodes {
		return nil, &FieldError{Message: fmt.Sprintf("aliases expand the manifest to more than %d YAML nodes", maxNodes)}
	}
	c := shapeChecker{present: map[string]bool{}, anchors: map[string]ast.Node{}}
	c.check(root, reflect.TypeFor[Manifest](), "")
	return c.present, c.probs.err()
}

type shapeChecker struct {
	probs   problems
	present map[string]bool
	anchors map[string]ast.Node // anchor name -> its value, once checked
	// alias, while an alias's value is checked, is where problems are
	// reported: the alias is where the value is used.
	alias ast.Node
}

var durationType = reflect.TypeFor[Duration]()

func (c *shapeChecker) check(node ast.Node, t reflect.Type, path string) {
	switch n := node.(type) {
	case nil, *ast.NullNode:
		return // the zero value
	case *ast.AnchorNode:
		c.check(n.Value, t, path)
		// Registered after its value, so an anchor cannot alias itself.
		c.anchors[n.Name.GetToken().Value] = n.Value
		return
	case *ast.AliasNode:
		target, ok := c.anchors[n.Value.GetToken().Value]
		if !ok || c.alias != nil {
			// An unknown alias is the decoder's to report. An alias inside
			// an alias's value was checked where its anchor is, so checking
			// stays linear in the file's size.
			return
		}
		c.alias = n
		c.check(target, t, path)
		c.alias = nil
		return
	case *ast.TagNode:
		return // an explicit tag states its type on purpose; the decoder checks it
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		c.checkDuration(node, path)
		return
	}

	switch t.Kind() {
	case reflect.Struct:
		mapping, ok := node.(ast.MapNode)
		if !ok {
			c.wrongType(node, path, "a mapping")
			return
		}
		fields := yamlFields(t)
		for i, it := 0, mapping.MapRange(); it.Next(); i++ {
			key, ok := mapKey(it.Key())
			if !ok {
				c.checkMerge(it.Key(), it.Value(), t, path, i)
				continue
			}
			field, known := fields[key]
			if !known {
				c.unknownField(it.Key(), path, key, fields)
				continue
			}
			c.child(it.Value(), field.Type, joinPath(path, key))
		}
	case reflect.Map:
		mapping, ok := node.(ast.MapNode)
		if !ok {
			c.wrongType(node, path, "a mapping")
			return
		}
		for i, it := 0, mapping.MapRange(); it.Next(); i++ {
			key, ok := mapKey(it.Key())
			if !ok {
				c.checkMerge(it.Key(), it.Value(), t, path, i)
				continue
			}
			c.child(it.Value(), t.Elem(), joinPath(path, key))
		}
	case reflect.Slice:
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			c.wrongType(node, path, "a list")
			return
		}
		for i, v := range seq.Values {
			c.check(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		switch node.(type) {
		case *ast.StringNode, *ast.LiteralNode:
		default:
			c.wrongType(node, path, "a string")
		}
	case reflect.Bool:
		if _, ok := node.(*ast.BoolNode); !ok {
			c.wrongType(node, path, "true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, ok := node.(*ast.IntegerNode); !ok {
			c.wrongType(node, path, "an integer")
		}
	case reflect.Float32, reflect.Float64:
		switch node.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			c.wrongType(node, path, "a number")
		}
	case reflect.Interface:
		// Free-form (JSON Schemas); validate checks what it must.
	}
}

// checkMerge checks a merge key (<<: *base, or <<: [*a, *b]) at position i
// of its mapping: the merged keys count as the mapping's own. It must come
// first, because the YAML library lets it override the keys before it, where
// YAML says explicit keys win.
func (c *shapeChecker) checkMerge(key, value ast.Node, t reflect.Type, path string, i int) {
	if i > 0 {
		c.addAt(key, path, "the merge key << must come first in its mapping")
		return
	}
	if seq, ok := value.(*ast.SequenceNode); ok {
		for _, v := range seq.Values {
			c.check(v, t, path)
		}
		return
	}
	c.check(value, t, path)
}

// child checks a mapping value and records that path was given a value.
func (c *shapeChecker) child(node ast.Node, t reflect.Type, path string) {
	if _, isNull := node.(*ast.NullNode); !isNull && node != nil {
		c.present[path] = true
	}
	c.check(node, t, path)
}

func (c *shapeChecker) checkDuration(node ast.Node, path string) {
	s, ok := node.(*ast.StringNode)
	if !ok {
		c.wrongType(node, path, `a duration like "30s", "1m" or "1h"`)
		return
	}
	d, err := time.ParseDuration(s.Value)
	switch {
	case err != nil:
		c.addAt(node, path, `%q is not a duration (want e.g. "30s", "1m", "1h")`, s.Value)
	case d <= 0:
		c.addAt(node, path, "%q must be positive", s.Value)
	}
}

func (c *shapeChecker) wrongType(node ast.Node, path, want string) {
	c.addAt(node, path, "want %s, got %s", want, describeNode(node))
}

func (c *shapeChecker) unknownField(key ast.Node, path, name string, fields map[string]reflect.StructField) {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	c.addAt(key, path, "unknown field %q (known fields: %s)", name, strings.Join(known, ", "))
}

func (c *shapeChecker) addAt(node ast.Node, path, format string, args ...any) {
	fe := &FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
	if c.alias != nil {
		node = c.alias
	}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		fe.Line, fe.Column = tk.Position.Line, tk.Position.Column
	}
	c.probs = append(c.probs, fe)
}

// yamlFields maps the yaml tag names of t's fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f
	}
	return fields
}

// mapKey returns a mapping key as a string; false for a merge key (<<).
func mapKey(k ast.MapKeyNode) (string, bool) {
	switch k := k.(type) {
	case *ast.MergeKeyNode:
		return "", false
	case *ast.StringNode:
		return k.Value, true
	}
	return k.String(), true
}

// describeNode names a YAML node's type and, for a scalar, its value, for
// messages like `want an integer, got number 1.5`.
func describeNode(node ast.Node) string {
	switch n := node.(type) {
	case ast.MapNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return "string " + strconv.Quote(n.Value)
	case *ast.LiteralNode:
		return "a block string"
	case *ast.IntegerNode:
		return "integer " + n.GetToken().Value
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + n.GetToken().Value
	case *ast.BoolNode:
		return "boolean " + n.GetToken().Value
	case *ast.NullNode:
		return "null"
	}
	return node.Type().String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends a key to a field path, quoting keys that would make the
// path ambiguous (a sync named "a.b").
func joinPath(parent, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// maxNodes bounds the size of a manifest once its aliases are expanded, so a
// small file whose aliases nest ("billion laughs") cannot make the decoder
// build an exponentially large value. Real manifests, JSON Schemas included,
// stay far below it.
const maxNodes = 100_000

// sizer counts the nodes of a YAML tree as the decoder will see it, with
// every alias replaced by its anchor's value. Counts saturate above maxNodes.
type sizer struct {
	anchors map[string]int // anchor name -> size of its value
}

func (s *sizer) size(node ast.Node) int {
	n := 1
	switch node := node.(type) {
	case nil:
		return 0
	case *ast.AnchorNode:
		n = s.size(node.Value)
		s.anchors[node.Name.GetToken().Value] = n
	case *ast.AliasNode:
		n = s.anchors[node.Value.GetToken().Value]
	case *ast.TagNode:
		n += s.size(node.Value)
	case *ast.MappingNode:
		for _, v := range node.Values {
			n += s.size(v)
			if n > maxNodes {
				break
			}
		}
	case *ast.MappingValueNode:
		n += s.size(node.Key) + s.size(node.Value)
	case *ast.MappingKeyNode:
		n += s.size(node.Value)
	case *ast.SequenceNode:
		for _, v := range node.Values {
			n += s.size(v)
			if n > maxNodes {
				break
			}
		}
	}
	return min(n, maxNodes+1)
}
