package firestoredb

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// owned are the order's parts that change only through its methods
// (issue 21, part 6): a field of these types, or these fields of the
// order, assigned anywhere but in internal/order — or in this adapter's
// load of a stored order (orders.go) — fails the test.
var owned = map[string]bool{"Payment": true, "Part": true, "Invoice": true, "Pricing": true, "Refund": true, "StrayPayment": true, "Dispute": true}

const orderPkg = "github.com/readyplanner/oms/internal/order"

// TestOrderChangesThroughItsMethods proves from the source of the whole
// module (test files aside) that nothing outside the order sets a field of
// its payment, parts, invoice or pricing: each change is a method of the
// order that validates it.
func TestOrderChangesThroughItsMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole module")
	}
	var fset *token.FileSet
	var root string
	var found []string
	err := checkModule(filepath.Join("..", ".."), func(f *token.FileSet, abs string) { fset, root = f, abs },
		func(path string, info *types.Info, files []*ast.File) {
			if path == orderPkg {
				return
			}
			for _, f := range files {
				name, _ := filepath.Rel(root, fset.Position(f.Pos()).Filename)
				if filepath.ToSlash(name) == "internal/firestoredb/orders.go" {
					continue // the store restores what it stored
				}
				ast.Inspect(f, func(n ast.Node) bool {
					var lhs []ast.Expr
					switch s := n.(type) {
					case *ast.AssignStmt:
						lhs = s.Lhs
					case *ast.IncDecStmt:
						lhs = []ast.Expr{s.X}
					}
					for _, e := range lhs {
						if copied(info, e) {
							continue
						}
						if field := ownedField(info, e); field != "" {
							pos := fset.Position(e.Pos())
							rel, _ := filepath.Rel(root, pos.Filename)
							found = append(found, filepath.ToSlash(rel)+":"+strconv.Itoa(pos.Line)+": sets "+field)
						}
					}
					return true
				})
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s outside the order: make it a method of order.Order", f)
	}
}

// copied reports whether e sets a field of a local copy (v.Field, v a
// value, not a pointer): that changes no order.
func copied(info *types.Info, e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	obj := info.Uses[id]
	if obj == nil {
		obj = info.Defs[id]
	}
	if obj == nil {
		return false
	}
	_, isPtr := obj.Type().Underlying().(*types.Pointer)
	_, isStruct := obj.Type().Underlying().(*types.Struct)
	return !isPtr && isStruct
}

// ownedField returns the owned field e assigns to, through any chain of
// selectors, indexes and dereferences ("Payment.Refunds", "Part.Status"),
// or "".
func ownedField(info *types.Info, e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.SelectorExpr:
			sel := info.Selections[x]
			if sel != nil && sel.Kind() == types.FieldVal {
				recv := sel.Recv()
				if p, ok := recv.(*types.Pointer); ok {
					recv = p.Elem()
				}
				if named, ok := recv.(*types.Named); ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == orderPkg {
					if owned[named.Obj().Name()] {
						return named.Obj().Name() + "." + x.Sel.Name
					}
					if named.Obj().Name() == "Order" && owned[strings.TrimSuffix(x.Sel.Name, "s")] {
						return "Order." + x.Sel.Name
					}
				}
			}
			e = x.X
		default:
			return ""
		}
	}
}
