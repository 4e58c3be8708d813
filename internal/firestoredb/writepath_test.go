package firestoredb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// writers names, for each collection the module writes, the one store
// that may write it: the files of that store. A collection path names
// subcollections with * for the parent's document id.
var writers = map[string]struct {
	store string
	files []string
}{
	OrdersCollection:                    {"Orders", []string{"internal/firestoredb/orders.go"}},
	InventoryCollection:                 {"Checkouts (stock)", []string{"internal/firestoredb/checkout.go"}},
	InventoryMovementsCollection:        {"Checkouts (stock)", []string{"internal/firestoredb/checkout.go"}},
	CheckoutsCollection:                 {"Checkouts", []string{"internal/firestoredb/checkout.go"}},
	MailCollection:                      {"Mail", []string{"internal/firestoredb/mail.go"}},
	AlertsCollection:                    {"Alerts", []string{"internal/firestoredb/alerts.go"}},
	PromotionsCollection:                {"Promotions", []string{"internal/firestoredb/promotions.go", "internal/firestoredb/promotionsave.go"}},
	PromotionChangesCollection:          {"Promotions", []string{"internal/firestoredb/promotionsave.go"}},
	CountersCollection:                  {"Promotions", []string{"internal/firestoredb/promotions.go"}},
	CountersCollection + "/*/mailboxes": {"Promotions", []string{"internal/firestoredb/promotions.go"}},
	RedemptionsCollection:               {"Promotions", []string{"internal/firestoredb/promotions.go"}},
	webhookRecords:                      {"WebhookEvents", []string{"internal/firestoredb/webhooks.go"}},
	IntegrationsCollection:              {"QuickBooksTokens", []string{"internal/firestoredb/qbtokens.go", "internal/firestoredb/qbconnect.go"}},
	IntegrationsCollection + "/*/" + connectKeysCollection: {"QuickBooksTokens", []string{"internal/firestoredb/qbconnect.go"}},
	IntegrationsCollection + "/*/" + statesCollection:      {"QuickBooksTokens", []string{"internal/firestoredb/qbconnect.go"}},
	ProductsCollection:   {"Catalog", []string{"internal/firestoredb/catalog.go"}},
	SKUsCollection:       {"Catalog", []string{"internal/firestoredb/catalog.go"}},
	SKUChangesCollection: {"Catalog", []string{"internal/firestoredb/catalog.go"}},
}

// guarded are the collections the guard must find written: if it finds
// none, it has lost track of the write path and proves nothing.
var guarded = []string{OrdersCollection, InventoryCollection, InventoryMovementsCollection, MailCollection, AlertsCollection,
	PromotionsCollection, RedemptionsCollection, webhookRecords}

// webhookRecords is each source's subcollection of webhook event records.
const webhookRecords = WebhookEventsCollection + "/*/" + webhookSourceEvents

// TestOneStorePerCollection proves, from the source of the whole module
// (every package, test files aside), that each collection is written by
// exactly one store. It type-checks every package, finds every Firestore
// write (a DocumentRef's Set, Create, Update or Delete, a CollectionRef's
// Add, and a Transaction's, WriteBatch's or BulkWriter's Set, Create,
// Update or Delete), follows the reference written back to the collection
// it was made from (Collection("x") and Doc("x/…") chains, constants,
// variables, slices, the functions that return references and the
// functions that write a reference they are given, which count as a write
// where they are called), and fails on a write from any file but its
// collection's store, on a collection no store owns, and on a write whose
// collection it cannot tell.
func TestOneStorePerCollection(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole module")
	}
	writes, err := moduleWrites(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, w := range writes {
		if w.collection == "" {
			t.Errorf("%s: %s writes a Firestore document whose collection cannot be told from the source (%s): make the reference from a collection constant in the store that owns it", w.at(), w.fn, w.why)
			continue
		}
		found[w.collection] = true
		owner, ok := writers[w.collection]
		switch {
		case !ok:
			t.Errorf("%s: %s writes %s, a collection no store owns: give it one store and name it in writers", w.at(), w.fn, w.collection)
		case !slices.Contains(owner.files, w.file):
			t.Errorf("%s: %s writes %s; only the %s store (%s) may write it", w.at(), w.fn, w.collection, owner.store, strings.Join(owner.files, ", "))
		}
	}
	for _, c := range guarded {
		if !found[c] {
			t.Errorf("no write of %s found: the guard has lost track of its write path", c)
		}
	}
}

// TestOneWayToBuildAnOrderDocument proves that an order document exists
// only as toDoc's result, and that toDoc is called only by the Orders
// store's setTx, createTx and Create (setTx and createTx stamp updatedAt).
func TestOneWayToBuildAnOrderDocument(t *testing.T) {
	allowed := map[string]bool{"Orders.setTx": true, "Orders.createTx": true, "Orders.Create": true}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			where := funcName(fn)
			ast.Inspect(fn, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "toDoc" {
						calls++
						if !allowed[where] {
							t.Errorf("%s: %s builds an order document (toDoc) outside the one write path", fset.Position(call.Pos()), where)
						}
					}
				}
				return true
			})
		}
	}
	if calls != 3 {
		t.Errorf("toDoc is called %d times; the one write path calls it 3 times", calls)
	}
}

// funcName is Recv.Name for a method, Name for a function.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) != 1 {
		return fn.Name.Name
	}
	recv := fn.Recv.List[0].Type
	if star, ok := recv.(*ast.StarExpr); ok {
		recv = star.X
	}
	if ix, ok := recv.(*ast.IndexExpr); ok {
		recv = ix.X
	}
	if id, ok := recv.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}

// write is one Firestore write found in the source.
type write struct {
	collection string // "" when it cannot be told
	why        string // why it cannot
	file       string // the writer's file: module-relative, slash-separated
	where      string // the file the write is in
	pos        token.Position
	fn         string
}

// at is where w is: module-relative file, line and column.
func (w write) at() string { return fmt.Sprintf("%s:%d:%d", w.where, w.pos.Line, w.pos.Column) }

const firestorePkg = "cloud.google.com/go/firestore"

// listed is what `go list -json` says of a package.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	DepOnly    bool
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

// moduleWrites type-checks every package of the module at root (imports
// from the build cache's export data) and returns every Firestore write.
func moduleWrites(root string) ([]write, error) {
	var a *analysis
	err := checkModule(root, func(fset *token.FileSet, abs string) {
		a = &analysis{fset: fset, root: abs, funcs: map[string]*fnode{}, lits: map[*ast.FuncLit]*fnode{},
			params: map[*types.Var]param{}, sources: map[types.Object][]source{}, litVars: map[types.Object]*ast.FuncLit{},
			resolving: map[types.Object]bool{}, memo: map[types.Object][]string{}}
	}, func(_ string, info *types.Info, files []*ast.File) { a.index(info, files) })
	if err != nil {
		return nil, err
	}
	a.findWrites()
	return a.writes, nil
}

// checkModule type-checks every package of the module at root (imports
// from the build cache's export data, test files aside): start is told
// the file set and the module's absolute root first, then visit each
// package with its type information.
func checkModule(root string, start func(fset *token.FileSet, abs string), visit func(path string, info *types.Info, files []*ast.File)) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "list", "-e", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,DepOnly,Module,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	exports := map[string]string{}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if p.Error != nil {
			return fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && p.Module != nil && p.Module.Main {
			pkgs = append(pkgs, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	start(fset, root)
	for _, p := range pkgs {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{},
			Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			return fmt.Errorf("type-check %s: %w", p.ImportPath, err)
		}
		visit(p.ImportPath, info, files)
	}
	return nil
}

// fnode is a function (declared or literal) of the module.
type fnode struct {
	id      string
	name    string // for messages
	info    *types.Info
	body    *ast.BlockStmt
	results []*types.Var    // named results
	writes  map[string]bool // the targets it writes that are its parameters'
	sites   []callSite
	file    string // module-relative
	returns []string
	done    bool // returns computed
}

type callSite struct {
	info *types.Info
	args []ast.Expr // the receiver first, for a method
}

// param is a function's parameter: the receiver is 0, for a method.
type param struct {
	fn *fnode
	i  int
}

// A target is what a reference reaches: "c:" and a collection path, or
// "p:" the id of a function and the index of its parameter, then "|" and
// the path below it ("/*/sub"), filled in where the function is called.
type analysis struct {
	fset      *token.FileSet
	root      string
	funcs     map[string]*fnode // declared functions by FullName
	lits      map[*ast.FuncLit]*fnode
	params    map[*types.Var]param
	sources   map[types.Object][]source // what each variable is assigned
	litVars   map[types.Object]*ast.FuncLit
	resolving map[types.Object]bool
	memo      map[types.Object][]string
	nodes     []*fnode
	writes    []write
	pending   []pendingWrite
}

// pendingWrite is a call found in fn: a write, or a call of a function
// of the module.
type pendingWrite struct {
	info *types.Info
	fn   *fnode
	call *ast.CallExpr
}

func (a *analysis) index(info *types.Info, files []*ast.File) {
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				obj, _ := info.Defs[d.Name].(*types.Func)
				if obj == nil || d.Body == nil {
					continue
				}
				n := &fnode{id: obj.FullName(), name: funcName(d), info: info, body: d.Body, file: a.rel(a.fset.Position(d.Pos()))}
				a.funcs[n.id] = n
				a.nodes = append(a.nodes, n)
				var fields []*ast.Field
				if d.Recv != nil {
					fields = append(fields, d.Recv.List...)
				}
				a.addParams(info, n, append(fields, d.Type.Params.List...), d.Type.Results)
				a.indexBody(info, n, d.Body)
			case *ast.GenDecl:
				a.indexSpecs(info, d)
			}
		}
	}
}

func (a *analysis) addParams(info *types.Info, n *fnode, fields []*ast.Field, results *ast.FieldList) {
	i := 0
	for _, f := range fields {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, name := range f.Names {
			if v, ok := info.Defs[name].(*types.Var); ok {
				a.params[v] = param{n, i}
			}
			i++
		}
	}
	if results != nil {
		for _, f := range results.List {
			for _, name := range f.Names {
				if v, ok := info.Defs[name].(*types.Var); ok {
					n.results = append(n.results, v)
				}
			}
		}
	}
}

func (a *analysis) indexSpecs(info *types.Info, d *ast.GenDecl) {
	for _, spec := range d.Specs {
		if vs, ok := spec.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if obj := info.Defs[name]; obj != nil && len(vs.Values) > 0 {
					a.sources[obj] = append(a.sources[obj], source{info, vs.Values[min(i, len(vs.Values)-1)]})
				}
			}
		}
	}
}

// indexBody records the assignments, the function literals and the calls
// of fn's body; a literal's own body belongs to the literal.
func (a *analysis) indexBody(info *types.Info, fn *fnode, body ast.Node) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.FuncLit:
			lit := &fnode{id: a.fset.Position(s.Pos()).String(), name: fn.name + " (func literal)", info: info, body: s.Body, file: fn.file}
			a.lits[s] = lit
			a.nodes = append(a.nodes, lit)
			a.addParams(info, lit, s.Type.Params.List, s.Type.Results)
			a.indexBody(info, lit, s.Body)
			return false
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok {
					continue
				}
				obj := info.Defs[id]
				if obj == nil {
					obj = info.Uses[id]
				}
				if obj == nil {
					continue
				}
				rhs := s.Rhs[min(i, len(s.Rhs)-1)]
				a.sources[obj] = append(a.sources[obj], source{info, rhs})
				if lit, ok := rhs.(*ast.FuncLit); ok {
					a.litVars[obj] = lit
				}
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{s.Key, s.Value} {
				if id, ok := e.(*ast.Ident); ok {
					if obj := info.Defs[id]; obj != nil {
						a.sources[obj] = append(a.sources[obj], source{info, s.X})
					} else if obj := info.Uses[id]; obj != nil {
						a.sources[obj] = append(a.sources[obj], source{info, s.X})
					}
				}
			}
		case *ast.GenDecl:
			a.indexSpecs(info, s)
		case *ast.CallExpr:
			a.pending = append(a.pending, pendingWrite{info: info, fn: fn, call: s})
		}
		return true
	})
}

// callee is the function a call calls, when it is static, and the
// arguments it gets (the receiver first, for a method).
func (a *analysis) callee(info *types.Info, call *ast.CallExpr) (*types.Func, []ast.Expr) {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.SelectorExpr:
		if sel := info.Selections[f]; sel != nil {
			if fn, ok := sel.Obj().(*types.Func); ok && sel.Kind() == types.MethodVal {
				return fn, append([]ast.Expr{f.X}, call.Args...)
			}
			return nil, nil
		}
		if fn, ok := info.Uses[f.Sel].(*types.Func); ok {
			return fn, call.Args
		}
	case *ast.Ident:
		if fn, ok := info.Uses[f].(*types.Func); ok {
			return fn, call.Args
		}
	case *ast.IndexExpr: // a generic function instantiated explicitly
		if id, ok := f.X.(*ast.Ident); ok {
			if fn, ok := info.Uses[id].(*types.Func); ok {
				return fn, call.Args
			}
		}
	}
	return nil, nil
}

// node is the module function a call calls (a declared function, or a
// variable holding a function literal), and its arguments.
func (a *analysis) node(info *types.Info, call *ast.CallExpr) (*fnode, []ast.Expr) {
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if lit := a.litVars[info.Uses[id]]; lit != nil {
			return a.lits[lit], call.Args
		}
	}
	if fn, args := a.callee(info, call); fn != nil {
		if n := a.funcs[fn.Origin().FullName()]; n != nil {
			return n, args
		}
	}
	return nil, nil
}

// firestoreMethod is the type and name of a method of the Firestore
// client's types a call calls ("" if it calls none).
func (a *analysis) firestoreMethod(info *types.Info, call *ast.CallExpr) (recv, name string, args []ast.Expr) {
	fn, args := a.callee(info, call)
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != firestorePkg {
		return "", "", nil
	}
	sig := fn.Signature()
	if sig.Recv() == nil {
		return "", fn.Name(), args
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if named, ok := t.(*types.Named); ok {
		return named.Obj().Name(), fn.Name(), args
	}
	return "", "", nil
}

var writeMethods = map[string][]string{
	"DocumentRef":   {"Set", "Create", "Update", "Delete"},
	"CollectionRef": {"Add"},
	"Transaction":   {"Set", "Create", "Update", "Delete"},
	"WriteBatch":    {"Set", "Create", "Update", "Delete"},
	"BulkWriter":    {"Set", "Create", "Update", "Delete"},
}

// findWrites finds every write, then carries the writes of a function's
// parameters to its callers until nothing changes.
func (a *analysis) findWrites() {
	for _, p := range a.pending {
		if n, args := a.node(p.info, p.call); n != nil {
			n.sites = append(n.sites, callSite{p.info, args})
		}
	}
	for _, p := range a.pending {
		recv, name, args := a.firestoreMethod(p.info, p.call)
		if !slices.Contains(writeMethods[recv], name) || len(args) == 0 {
			continue
		}
		target := args[0] // the reference: the receiver, or the first argument of a transaction's, batch's or bulk writer's
		if recv == "Transaction" || recv == "WriteBatch" || recv == "BulkWriter" {
			if len(args) < 2 {
				continue
			}
			target = args[1]
		}
		a.record(p.fn, p.call.Pos(), a.resolve(p.info, target), "")
	}
	for changed := true; changed; {
		changed = false
		for _, n := range a.nodes {
			for _, tgt := range slices.Sorted(maps.Keys(n.writes)) {
				if n.writes[tgt] {
					continue
				}
				n.writes[tgt] = true
				changed = true
				i, suffix := paramOf(tgt)
				for _, site := range n.sites {
					if i >= len(site.args) {
						continue
					}
					var at []string
					for _, t := range a.resolve(site.info, site.args[i]) {
						at = append(at, t+suffix)
					}
					a.record(a.enclosing(site.args[i]), site.args[i].Pos(), at, n.file)
				}
			}
		}
	}
	// A function that writes a reference it is given, called nowhere the
	// guard can see (through an interface, as a value), hides its callers.
	for _, n := range a.nodes {
		if len(n.writes) > 0 && len(n.sites) == 0 {
			a.writes = append(a.writes, write{file: n.file, where: n.file, pos: a.fset.Position(n.body.Pos()), fn: n.name,
				why: "it writes a reference it is given, and is called only where the guard cannot follow (an interface, a function value)"})
		}
	}
}

func (a *analysis) rel(p token.Position) string {
	rel, err := filepath.Rel(a.root, p.Filename)
	if err != nil {
		return p.Filename
	}
	return filepath.ToSlash(rel)
}

// enclosing is the module function whose body holds e.
func (a *analysis) enclosing(e ast.Expr) *fnode {
	var best *fnode
	for _, n := range a.nodes {
		if n.body.Pos() <= e.Pos() && e.End() <= n.body.End() && (best == nil || best.body.Pos() <= n.body.Pos()) {
			best = n
		}
	}
	return best
}

// record records a write at pos in fn of the targets: a collection's
// write where it is, a parameter's write for fn's callers. A write made by
// a function of the collection's store (callee, "" for none) with a
// reference its caller chose (Orders.setTx(tx, ref, o)) is the store's.
func (a *analysis) record(fn *fnode, pos token.Pos, targets []string, callee string) {
	p := a.fset.Position(pos)
	name := "?"
	if fn != nil {
		name = fn.name
	}
	w := write{file: a.rel(p), where: a.rel(p), pos: p, fn: name}
	if len(targets) == 0 {
		w.why = "the reference comes from nothing the guard can follow"
		a.writes = append(a.writes, w)
		return
	}
	for _, t := range targets {
		switch {
		case strings.HasPrefix(t, "c:"):
			w.collection = strings.TrimPrefix(t, "c:")
			if callee != "" && slices.Contains(writers[w.collection].files, callee) {
				w.file = callee
			}
			a.writes = append(a.writes, w)
		case strings.HasPrefix(t, "p:"):
			id := strings.TrimPrefix(t[:strings.Index(t, "#")], "p:")
			for _, n := range a.nodes {
				if n.id == id {
					if n.writes == nil {
						n.writes = map[string]bool{}
					}
					if _, ok := n.writes[t]; !ok {
						n.writes[t] = false
					}
				}
			}
		default:
			w.why = strings.TrimPrefix(t, "?:")
			a.writes = append(a.writes, w)
		}
	}
}

// paramOf splits a parameter's target into its index and the path below.
func paramOf(t string) (int, string) {
	rest := t[strings.Index(t, "#")+1:]
	idx, suffix, _ := strings.Cut(rest, "|")
	i, _ := strconv.Atoi(idx)
	if suffix != "" {
		suffix = "/" + suffix
	}
	return i, suffix
}

// sub is the target t's subcollection name.
func sub(t, name string) string {
	if strings.HasPrefix(t, "p:") {
		if strings.Contains(t, "|") {
			return t + "/*/" + name
		}
		return t + "|*/" + name
	}
	if strings.HasPrefix(t, "c:") {
		return t + "/*/" + name
	}
	return t
}

// resolve is every target the reference-valued expression e can reach.
func (a *analysis) resolve(info *types.Info, e ast.Expr) []string {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		obj := info.Uses[x]
		if obj == nil {
			obj = info.Defs[x]
		}
		return a.resolveObj(obj)
	case *ast.StarExpr:
		return a.resolve(info, x.X)
	case *ast.UnaryExpr:
		return a.resolve(info, x.X)
	case *ast.IndexExpr:
		return a.resolve(info, x.X)
	case *ast.SliceExpr:
		return a.resolve(info, x.X)
	case *ast.TypeAssertExpr:
		return a.resolve(info, x.X)
	case *ast.CompositeLit:
		var out []string
		for _, elt := range x.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				elt = kv.Value
			}
			out = union(out, a.resolve(info, elt))
		}
		return out
	case *ast.SelectorExpr:
		if sel := info.Selections[x]; sel != nil && sel.Kind() == types.FieldVal {
			if named := namedOf(sel.Recv()); named != nil && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == firestorePkg {
				return a.resolve(info, x.X) // a snapshot's Ref, a reference's Parent
			}
			if isFirestoreRef(sel.Type()) {
				return []string{"?:a reference kept in a struct field (" + x.Sel.Name + ")"}
			}
			return nil
		}
		if obj := info.Uses[x.Sel]; obj != nil {
			return a.resolveObj(obj)
		}
		return nil
	case *ast.CallExpr:
		return a.resolveCall(info, x)
	}
	return nil
}

func (a *analysis) resolveObj(obj types.Object) []string {
	v, ok := obj.(*types.Var)
	if !ok {
		return nil
	}
	if p, ok := a.params[v]; ok {
		return []string{"p:" + p.fn.id + "#" + strconv.Itoa(p.i)}
	}
	if a.resolving[v] {
		return nil
	}
	if got, ok := a.memo[v]; ok {
		return got
	}
	a.resolving[v] = true
	var out []string
	for _, src := range a.sources[v] {
		out = union(out, a.resolve(src.info, src.e))
	}
	delete(a.resolving, v)
	a.memo[v] = out
	return out
}

// source is an expression assigned to a variable.
type source struct {
	info *types.Info
	e    ast.Expr
}

func (a *analysis) resolveCall(info *types.Info, call *ast.CallExpr) []string {
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := info.Uses[id].(*types.Builtin); ok && b.Name() == "append" {
			var out []string
			for _, arg := range call.Args {
				out = union(out, a.resolve(info, arg))
			}
			return out
		}
	}
	if tv, ok := info.Types[call.Fun]; ok && tv.IsType() && len(call.Args) == 1 { // a conversion
		return a.resolve(info, call.Args[0])
	}
	if recv, name, args := a.firestoreMethod(info, call); name != "" {
		switch {
		case recv == "Client" && name == "Collection" && len(args) == 2:
			if path, ok := constString(info, args[1]); ok {
				return []string{"c:" + collectionOf(path, false)}
			}
			return []string{"?:a collection named by a value the guard cannot read"}
		case recv == "Client" && name == "Doc" && len(args) == 2:
			if path := constPrefix(info, args[1]); strings.Contains(path, "/") {
				return []string{"c:" + collectionOf(path, true)}
			}
			return []string{"?:a document path not made from a constant naming its collection"}
		case recv == "DocumentRef" && name == "Collection" && len(args) == 2:
			name, ok := constString(info, args[1])
			if !ok {
				return []string{"?:a subcollection named by a value the guard cannot read"}
			}
			var out []string
			for _, t := range a.resolve(info, args[0]) {
				out = append(out, sub(t, name))
			}
			return out
		case recv == "Client" && name == "GetAll" && len(args) == 3:
			return a.resolve(info, args[2])
		case recv == "Transaction" || recv == "WriteBatch" || recv == "BulkWriter" || recv == "Client":
			if len(args) >= 2 && (name == "Get" || name == "GetAll" || name == "Documents" || name == "DocumentRefs") {
				return a.resolve(info, args[1])
			}
			return nil
		case recv != "" && len(args) > 0:
			return a.resolve(info, args[0]) // Doc, NewDoc, Where, Documents, GetAll, Next…: the same collection
		}
		return nil
	}
	n, args := a.node(info, call)
	if n == nil {
		return nil
	}
	var out []string
	for _, t := range a.returnsOf(n) {
		if !strings.HasPrefix(t, "p:") {
			out = union(out, []string{t})
			continue
		}
		if !strings.HasPrefix(t, "p:"+n.id+"#") {
			continue // an enclosing function's parameter: resolved there
		}
		i, suffix := paramOf(t)
		if i < len(args) {
			for _, r := range a.resolve(info, args[i]) {
				out = union(out, []string{r + suffix})
			}
		}
	}
	return out
}

// returnsOf is every target a function's results can reach.
func (a *analysis) returnsOf(n *fnode) []string {
	if n.done {
		return n.returns
	}
	n.done = true // a recursive call adds nothing
	var out []string
	ast.Inspect(n.body, func(node ast.Node) bool {
		switch s := node.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			for _, r := range s.Results {
				out = union(out, a.resolve(n.info, r))
			}
			if len(s.Results) == 0 {
				for _, v := range n.results {
					out = union(out, a.resolveObj(v))
				}
			}
		}
		return true
	})
	n.returns = out
	return out
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

func namedOf(t types.Type) *types.Named {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, _ := t.(*types.Named)
	return n
}

func isFirestoreRef(t types.Type) bool {
	if s, ok := t.(*types.Slice); ok {
		t = s.Elem()
	}
	n := namedOf(t)
	return n != nil && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == firestorePkg &&
		(n.Obj().Name() == "DocumentRef" || n.Obj().Name() == "CollectionRef")
}

// constString is e's value when it is a string constant.
func constString(info *types.Info, e ast.Expr) (string, bool) {
	if tv, ok := info.Types[e]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		return constant.StringVal(tv.Value), true
	}
	return "", false
}

// constPrefix is the constant start of a string expression: "orders/" of
// "orders/"+id, of fmt.Sprintf("orders/%s", id) and of path.Join's.
func constPrefix(info *types.Info, e ast.Expr) string {
	if s, ok := constString(info, e); ok {
		return s
	}
	switch x := ast.Unparen(e).(type) {
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			return constPrefix(info, x.X)
		}
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && len(x.Args) > 0 {
			if fn, ok := info.Uses[sel.Sel].(*types.Func); ok && fn.Pkg() != nil {
				switch fn.Pkg().Path() + "." + fn.Name() {
				case "fmt.Sprintf":
					f := constPrefix(info, x.Args[0])
					if i := strings.Index(f, "%"); i >= 0 {
						f = f[:i]
					}
					return f
				case "path.Join", "strings.Join":
					if p := constPrefix(info, x.Args[0]); p != "" {
						return p + "/"
					}
				}
			}
		}
	}
	return ""
}

// collectionOf is the collection path of a collection path (or, doc, of
// a document path, perhaps cut short): ids become *.
func collectionOf(path string, doc bool) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if doc && !strings.HasSuffix(path, "/") && len(segs)%2 == 1 {
		segs = segs[:len(segs)-1] // a document id cut short: "orders/ab"+…
	}
	var out []string
	for i, s := range segs {
		if i%2 == 0 {
			out = append(out, s)
		} else {
			out = append(out, "*")
		}
	}
	if len(out) > 0 && out[len(out)-1] == "*" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "/")
}
