package functions

import (
	"context"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/order"
	owners "github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/storefront"
)

// ownerCallable serves one of the owner's callables: as callableOf, and the
// owner's ID token is checked for revocation on every call, so that an
// owner signed out everywhere (or disabled) loses these at once.
func ownerCallable[Req, Ans any](a *app.App, c storefront.Call[Req, Ans], fn callable.Handler[Req, Ans]) http.Handler {
	return callableOf(a, c, fn, callable.CheckRevoked())
}

func adjustStock(a *app.App) http.Handler {
	return ownerCallable(a, storefront.AdjustStock, func(ctx context.Context, c callable.Caller, req storefront.AdjustStockRequest) (storefront.StockLevel, error) {
		l, err := a.OwnerApp.Commands.AdjustStock(ctx, c.Identity, owners.AdjustStock{RequestID: req.RequestID, SKU: req.SKU, Delta: req.Delta, Reason: req.Reason})
		if err != nil {
			return storefront.StockLevel{}, err
		}
		return storefront.StockLevel{SKU: req.SKU, OnHand: l.OnHand, Held: l.Held, Available: l.Available()}, nil
	})
}

func markShipped(a *app.App) http.Handler {
	return ownerCallable(a, storefront.MarkShipped, func(ctx context.Context, c callable.Caller, req storefront.MarkShippedRequest) (storefront.Order, error) {
		o, err := a.OwnerApp.Commands.MarkShipped(ctx, c.Identity, owners.MarkShipped{RequestID: req.RequestID, OrderID: req.OrderID, PartID: req.PartID,
			Tracking: order.Tracking{Carrier: req.Carrier, TrackingNumber: req.TrackingNumber, TrackingURL: req.TrackingURL}})
		if err != nil {
			return storefront.Order{}, err
		}
		return storefront.OrderOf(o), nil
	})
}

func buyLabel(a *app.App) http.Handler {
	return ownerCallable(a, storefront.BuyLabel, func(ctx context.Context, c callable.Caller, req storefront.LabelRequest) (storefront.LabelAnswer, error) {
		o, fresh, err := a.OwnerApp.Commands.BuyLabel(ctx, c.Identity, owners.LabelCommand{RequestID: req.RequestID, OrderID: req.OrderID})
		if err != nil {
			return storefront.LabelAnswer{}, err
		}
		return storefront.LabelAnswerOf(o, fresh), nil
	})
}

func voidLabel(a *app.App) http.Handler {
	return ownerCallable(a, storefront.VoidLabel, func(ctx context.Context, c callable.Caller, req storefront.LabelRequest) (storefront.LabelAnswer, error) {
		o, err := a.OwnerApp.Commands.VoidLabel(ctx, c.Identity, owners.LabelCommand{RequestID: req.RequestID, OrderID: req.OrderID})
		if err != nil {
			return storefront.LabelAnswer{}, err
		}
		return storefront.LabelAnswerOf(o, false), nil
	})
}

func retryOrder(a *app.App) http.Handler {
	return ownerCallable(a, storefront.RetryOrder, func(ctx context.Context, c callable.Caller, req storefront.RetryOrderRequest) (storefront.Order, error) {
		o, err := a.OwnerApp.Commands.RetryOrder(ctx, c.Identity, owners.RetryOrder{RequestID: req.RequestID, OrderID: req.OrderID})
		if err != nil {
			return storefront.Order{}, err
		}
		return storefront.OrderOf(o), nil
	})
}

func cancelOrder(a *app.App) http.Handler {
	return ownerCallable(a, storefront.CancelOrder, func(ctx context.Context, c callable.Caller, req storefront.CancelOrderRequest) (storefront.Order, error) {
		o, err := a.OwnerApp.Commands.CancelOrder(ctx, c.Identity, owners.CancelOrder{RequestID: req.RequestID, OrderID: req.OrderID, Reason: req.Reason})
		if err != nil {
			return storefront.Order{}, err
		}
		return storefront.OrderOf(o), nil
	})
}

func refundOrder(a *app.App) http.Handler {
	return ownerCallable(a, storefront.RefundOrder, func(ctx context.Context, c callable.Caller, req storefront.RefundOrderRequest) (storefront.RefundOrderAnswer, error) {
		o, r, err := a.OwnerApp.Commands.RefundOrder(ctx, c.Identity, owners.RefundOrder{RequestID: req.RequestID, OrderID: req.OrderID, Amount: req.Amount, Full: req.Full,
			Reason: req.Reason, ConfirmDuplicate: req.ConfirmDuplicate})
		if err != nil {
			return storefront.RefundOrderAnswer{}, err
		}
		return storefront.RefundOrderAnswer{Order: storefront.OrderOf(o), Refund: storefront.RefundAsked{N: r.N, Amount: r.Amount, Refundable: o.Refundable()}}, nil
	})
}
