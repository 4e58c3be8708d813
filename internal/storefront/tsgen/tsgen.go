// Package tsgen writes clients/ts/oms.d.ts, the TypeScript declarations of
// the storefront's contract, from the Go types of package storefront: the
// order view and the order document, every callable's request, answer and
// error reasons, and the enums they use. Doc comments come along from the
// Go source. go run ./cmd/gen-ts writes the file; TestDeclarationsAreCurrent
// fails when it and the Go types drift.
package tsgen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
	"github.com/readyplanner/oms/internal/storefront"
)

// Module is the module path; a type's package directory is its path
// under it.
const Module = "github.com/readyplanner/oms"

// Path is where the declarations live, from the module root.
const Path = "clients/ts/oms.d.ts"

// enum is a Go string type whose values are a closed set.
type enum struct {
	name   string
	doc    string
	values []string
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// enums are the string types emitted as unions of their values.
var enums = map[reflect.Type]enum{
	reflect.TypeFor[order.State]():         {"OrderState", "Where the order is in its life (docs/api.md, Order states).", strs(order.States)},
	reflect.TypeFor[order.PaymentStatus](): {"PaymentStatus", "Where the order's money stands.", strs(order.PaymentStatuses)},
	reflect.TypeFor[catalog.Fulfillment](): {"Fulfillment", "How a line is fulfilled: from stock by the owner, or printed on demand by the printer.", []string{string(catalog.Stock), string(catalog.PrintOnDemand)}},
	reflect.TypeFor[promotion.CodeStatus](): {"CodeStatus", "What became of a typed promotion code.",
		strs([]promotion.CodeStatus{promotion.CodeApplied, promotion.CodeUnknown, promotion.CodeExpired, promotion.CodeNotEligible, promotion.CodeLimitReached})},
}

// fieldTypes overrides the TypeScript type of string fields whose values
// are a closed set held elsewhere (type.field → TypeScript type).
var fieldTypes = map[string]string{
	"LineProblem.reason": "LineReason",
}

type generator struct {
	docs  map[string]string // "pkgpath.Type" and "pkgpath.Type.Field" → doc comment
	out   bytes.Buffer
	queue []reflect.Type
	seen  map[reflect.Type]bool
	timed map[reflect.Type]bool
}

// Generate returns the declarations. root is the module's directory (doc
// comments are read from its source).
func Generate(root string) ([]byte, error) {
	g := &generator{docs: map[string]string{}, seen: map[reflect.Type]bool{}, timed: map[reflect.Type]bool{}}
	roots := []reflect.Type{reflect.TypeFor[storefront.Order](), reflect.TypeFor[storefront.ErrorDetails]()}
	for _, c := range storefront.Calls {
		roots = append(roots, c.RequestType(), c.AnswerType())
	}
	pkgs := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		t = deref(t)
		if t.PkgPath() != "" && strings.HasPrefix(t.PkgPath(), Module) {
			pkgs[t.PkgPath()] = true
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			collect(t.Elem())
		case reflect.Struct:
			if g.seen[t] || t == reflect.TypeFor[time.Time]() {
				return
			}
			g.seen[t] = true
			for i := 0; i < t.NumField(); i++ {
				collect(t.Field(i).Type)
			}
		}
	}
	for _, r := range roots {
		collect(r)
	}
	g.seen = map[reflect.Type]bool{}
	var dirs []string
	for p := range pkgs {
		dirs = append(dirs, p)
	}
	sort.Strings(dirs)
	for _, p := range dirs {
		if err := g.readDocs(filepath.Join(root, strings.TrimPrefix(p, Module+"/")), p); err != nil {
			return nil, err
		}
	}
	g.header()
	for _, r := range roots {
		g.enqueue(r)
	}
	for len(g.queue) > 0 {
		t := g.queue[0]
		g.queue = g.queue[1:]
		g.emitStruct(t)
	}
	g.calls()
	return g.out.Bytes(), nil
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// readDocs records the doc comments of a package's types and fields.
func (g *generator) readDocs(dir, pkgPath string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read the source of %s: %w", pkgPath, err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				g.docs[pkgPath+"."+ts.Name.Name] = doc.Text()
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					text := fl.Doc.Text()
					if text == "" {
						text = fl.Comment.Text()
					}
					for _, n := range fl.Names {
						g.docs[pkgPath+"."+ts.Name.Name+"."+n.Name] = text
					}
				}
			}
		}
	}
	return nil
}

func (g *generator) header() {
	g.out.WriteString(`// Code generated by go run ./cmd/gen-ts from the Go types of internal/storefront; DO NOT EDIT.
//
// The storefront's contract with the order backend: the order as
// orders/{orderId} holds it and every callable answers it, each callable's
// request, answer and error reasons. Amounts are integer minor units
// (cents). docs/api.md says what each call does.

/** A Firestore timestamp as the JS SDK reads it (firebase/firestore's Timestamp has these). */
export interface FirestoreTimestamp {
  readonly seconds: number;
  readonly nanoseconds: number;
  toDate(): Date;
  toMillis(): number;
}

`)
	types := make([]reflect.Type, 0, len(enums))
	for t := range enums {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return enums[types[i]].name < enums[types[j]].name })
	for _, t := range types {
		e := enums[t]
		g.union(e.name, e.doc, e.values)
	}
	g.union("LineReason", "Why a cart line is refused (details.lines[].reason of startCheckout's bad_lines).", storefront.LineReasons)
}

func (g *generator) union(name, doc string, values []string) {
	g.comment("", doc)
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	fmt.Fprintf(&g.out, "export type %s = %s;\n\n", name, strings.Join(quoted, " | "))
}

func (g *generator) comment(indent, doc string) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return
	}
	lines := strings.Split(doc, "\n")
	if len(lines) == 1 {
		fmt.Fprintf(&g.out, "%s/** %s */\n", indent, strings.ReplaceAll(lines[0], "*/", "*\\/"))
		return
	}
	fmt.Fprintf(&g.out, "%s/**\n", indent)
	for _, l := range lines {
		fmt.Fprintf(&g.out, "%s * %s\n", indent, strings.TrimRight(strings.ReplaceAll(l, "*/", "*\\/"), " "))
	}
	fmt.Fprintf(&g.out, "%s */\n", indent)
}

// hasTime reports whether a struct holds a time.Time anywhere: it is then
// generic in how times are written (Time = string in answers, a
// FirestoreTimestamp on the document).
func (g *generator) hasTime(t reflect.Type) bool {
	t = deref(t)
	if t == reflect.TypeFor[time.Time]() {
		return true
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return g.hasTime(t.Elem())
	case reflect.Struct:
		if v, ok := g.timed[t]; ok {
			return v
		}
		g.timed[t] = false // cycles
		for i := 0; i < t.NumField(); i++ {
			if g.hasTime(t.Field(i).Type) {
				g.timed[t] = true
				return true
			}
		}
	}
	return false
}

func (g *generator) enqueue(t reflect.Type) {
	t = deref(t)
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || g.seen[t] {
		return
	}
	g.seen[t] = true
	g.queue = append(g.queue, t)
}

// ref is how a field of type t is written inside a struct that is (or is
// not) generic in Time.
func (g *generator) ref(t reflect.Type, inTimed bool) string {
	if e, ok := enums[t]; ok {
		return e.name
	}
	if t == reflect.TypeFor[time.Time]() {
		if inTimed {
			return "Time"
		}
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.ref(t.Elem(), inTimed) + " | null"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		el := g.ref(t.Elem(), inTimed)
		if strings.Contains(el, " ") {
			el = "(" + el + ")"
		}
		return el + "[]"
	case reflect.Map:
		return "Record<string, " + g.ref(t.Elem(), inTimed) + ">"
	case reflect.Struct:
		g.enqueue(t)
		if g.hasTime(t) && inTimed {
			return t.Name() + "<Time>"
		}
		return t.Name()
	}
	return "unknown"
}

func (g *generator) emitStruct(t reflect.Type) {
	timed := g.hasTime(t)
	g.comment("", g.docs[t.PkgPath()+"."+t.Name()])
	var extends []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Anonymous {
			extends = append(extends, g.ref(f.Type, timed))
		}
	}
	head := "export interface " + t.Name()
	if timed {
		head += "<Time = string>"
	}
	if len(extends) > 0 {
		head += " extends " + strings.Join(extends, ", ")
	}
	g.out.WriteString(head + " {\n")
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		typ := g.ref(f.Type, timed)
		if o, ok := fieldTypes[t.Name()+"."+name]; ok {
			typ = o
		}
		opt := ""
		if strings.Contains(opts, "omitempty") {
			opt = "?"
			typ = strings.TrimSuffix(typ, " | null")
		}
		g.comment("  ", g.docs[t.PkgPath()+"."+t.Name()+"."+f.Name])
		fmt.Fprintf(&g.out, "  %s%s: %s;\n", name, opt, typ)
	}
	g.out.WriteString("}\n\n")
}

// calls writes the order document, the error reasons of each callable and
// the map of callables that callables.ts is typed by.
func (g *generator) calls() {
	g.out.WriteString(`/**
 * orders/{orderId} as the customer's page reads it (onSnapshot, getDoc): the
 * same fields as Order, with Firestore timestamps, and the owner's uid. The
 * document holds more fields, the functions' own bookkeeping (docs/api.md,
 * Orders): read only these.
 */
export interface OrderDocument extends Order<FirestoreTimestamp> {
  uid: string;
}

/** The status of a callable's error, as the JS SDK's FunctionsError.code has it. */
export type ErrorCode = `)
	codes := make([]string, len(apperr.Codes))
	for i, c := range apperr.Codes {
		codes[i] = fmt.Sprintf("%q", "functions/"+strings.ReplaceAll(strings.ToLower(string(c)), "_", "-"))
	}
	g.out.WriteString(strings.Join(codes, " | ") + ";\n\n")
	g.out.WriteString("/** An error of callable Name: FunctionsError's code, message and typed details. */\n")
	g.out.WriteString("export interface CallableError<Reason extends string = string> {\n  code: ErrorCode;\n  message: string;\n  details: ErrorDetails & { reason: Reason };\n}\n\n")
	g.out.WriteString("/** Every callable: its request (data), its answer (result) and the reasons of its errors. */\nexport interface Callables {\n")
	for _, c := range storefront.Calls {
		reasons := map[string]bool{}
		for _, e := range c.ErrorCases() {
			reasons[e.Reason] = true
		}
		var rs []string
		for r := range reasons {
			rs = append(rs, fmt.Sprintf("%q", r))
		}
		sort.Strings(rs)
		g.comment("  ", c.CallDoc())
		fmt.Fprintf(&g.out, "  %s: {\n    request: %s;\n    answer: %s;\n    reason: %s;\n  };\n", c.CallName(), g.ref(c.RequestType(), false),
			g.ref(c.AnswerType(), false), strings.Join(rs, " | "))
	}
	g.out.WriteString("}\n\n/** The name of a callable. */\nexport type CallableName = keyof Callables;\n")
}
