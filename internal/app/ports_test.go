package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// Every port is given at construction (issue 21, part 7): New assigns
// the App's fields, never a field of something it already made
// (a.Payments.Redemptions = …), which would leave a window in which the
// service runs without it.
func TestPortsAtConstruction(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "app.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok {
			return true
		}
		for _, lhs := range as.Lhs {
			sel, ok := lhs.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			if inner, ok := sel.X.(*ast.SelectorExpr); ok {
				if id, ok := inner.X.(*ast.Ident); ok && id.Name == "a" {
					t.Errorf("%s: a.%s.%s set after %s was made: give it at construction", fset.Position(lhs.Pos()), inner.Sel.Name, sel.Sel.Name, inner.Sel.Name)
				}
			}
		}
		return true
	})
}
