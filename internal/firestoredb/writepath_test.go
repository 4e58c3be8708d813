package firestoredb

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneWritePathForOrders proves, from the source, that orders/{id} is
// written from one place: an order document exists only as toDoc's result,
// and toDoc is called only by the Orders store's setTx, createTx and Create
// (setTx and createTx stamp updatedAt). No other package names the orders
// collection outside its tests.
func TestOneWritePathForOrders(t *testing.T) {
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
			where := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) == 1 {
				recv := fn.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					where = id.Name + "." + where
				}
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "toDoc" {
					calls++
					if !allowed[where] {
						t.Errorf("%s: %s builds an order document (toDoc) outside the one write path", fset.Position(call.Pos()), where)
					}
				}
				return true
			})
		}
	}
	if calls != 3 {
		t.Errorf("toDoc is called %d times; the one write path calls it 3 times", calls)
	}

	// Outside this package, only tests may name the orders collection.
	root := filepath.Join("..", "..")
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if abs, err := filepath.Abs(path); err != nil || filepath.Dir(abs) == here {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if s := string(b); strings.Contains(s, `Collection("orders")`) || strings.Contains(s, "OrdersCollection") {
			t.Errorf("%s names the orders collection: only internal/firestoredb's Orders store writes it", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
