package owner

import (
	"context"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// Commands on promotions, as their request ids remember them.
const (
	CommandSavePromotion = "savePromotion"
	CommandEndPromotion  = "endPromotion"
)

// Why a promotion command is refused: endPromotion (or a change) of an
// id no promotion has; a new promotion under an id that is taken; a
// change of a promotion that has ended.
const (
	ReasonPromotionNotFound = "promotion_not_found"
	ReasonPromotionExists   = "promotion_exists"
	ReasonPromotionEnded    = "promotion_ended"
)

// SavePromotion creates a promotion (Change false: its id must be free) or
// changes an active one (Change true: every field as given).
type SavePromotion struct {
	RequestID string
	Promotion promotion.Promotion
	Change    bool
}

// EndPromotion ends a promotion now: it stops applying to new prices
// (orders already priced with it keep it).
type EndPromotion struct {
	RequestID string
	ID        string
}

// PromotionUsage is a promotion with its redemptions so far.
type PromotionUsage struct {
	Promotion   promotion.Promotion
	Redemptions int64
	// Malformed says why a stored promotion cannot be read (the checkout
	// refuses to price while it is active): save it again, or end it.
	Malformed string
}

// PromotionStore saves promotions as the owner edits them.
type PromotionStore interface {
	// Edit changes promotion id in one transaction, recording the change
	// (who, when, before, after) under requestID: the same request again
	// answers the promotion and changes nothing.
	Edit(ctx context.Context, requestID, command, hash, actor, id string, change func(cur promotion.Promotion, found bool) (promotion.Promotion, error)) (promotion.Promotion, error)
	// List answers every promotion with its redemptions so far.
	List(ctx context.Context) ([]PromotionUsage, error)
}

// Promotions are the owner's promotions: edited with the rules the
// checkout's engine applies (promotion.Check), every change recorded.
type Promotions struct {
	Store      PromotionStore
	AdminClaim string
	Now        func() time.Time
}

// Save creates or replaces a promotion, checked by promotion.Check.
func (p *Promotions) Save(ctx context.Context, who *identity.Identity, c SavePromotion) (promotion.Promotion, error) {
	if err := identity.RequireOwner(who, p.AdminClaim); err != nil {
		return promotion.Promotion{}, err
	}
	if err := order.ValidRequestID(c.RequestID); err != nil {
		return promotion.Promotion{}, err
	}
	if err := promotion.Check(c.Promotion); err != nil {
		return promotion.Promotion{}, err
	}
	pr := c.Promotion
	return p.Store.Edit(ctx, c.RequestID, CommandSavePromotion, order.RequestHash(CommandSavePromotion, fmt.Sprintf("%v %+v", c.Change, pr)), actor(who), pr.ID,
		func(cur promotion.Promotion, found bool) (promotion.Promotion, error) {
			switch {
			case c.Change && !found:
				return cur, apperr.New(apperr.NotFound, "no promotion %s to change", pr.ID).Because(ReasonPromotionNotFound).On("id")
			case c.Change && !cur.Active:
				return cur, apperr.New(apperr.FailedPrecondition, "promotion %s has ended: make a new one", pr.ID).Because(ReasonPromotionEnded).On("id")
			case !c.Change && found:
				return cur, apperr.New(apperr.AlreadyExists, "a promotion %s exists: change it, or choose another id", pr.ID).Because(ReasonPromotionExists).On("id")
			}
			return pr, nil
		})
}

// End ends a promotion now: inactive, and its window closed at now (an
// earlier end stays).
func (p *Promotions) End(ctx context.Context, who *identity.Identity, c EndPromotion) (promotion.Promotion, error) {
	if err := identity.RequireOwner(who, p.AdminClaim); err != nil {
		return promotion.Promotion{}, err
	}
	if err := order.ValidRequestID(c.RequestID); err != nil {
		return promotion.Promotion{}, err
	}
	now := p.Now().UTC()
	return p.Store.Edit(ctx, c.RequestID, CommandEndPromotion, order.RequestHash(CommandEndPromotion, c.ID), actor(who), c.ID,
		func(cur promotion.Promotion, found bool) (promotion.Promotion, error) {
			if !found {
				return cur, apperr.New(apperr.NotFound, "no promotion %s", c.ID).Because(ReasonPromotionNotFound).On("id")
			}
			cur.Active = false
			if cur.EndsAt.IsZero() || cur.EndsAt.After(now) {
				cur.EndsAt = now
			}
			if !cur.StartsAt.IsZero() && !cur.EndsAt.After(cur.StartsAt) {
				cur.StartsAt = time.Time{} // ended before it started: no window left
			}
			return cur, nil
		})
}

// List answers every promotion with its redemptions so far.
func (p *Promotions) List(ctx context.Context, who *identity.Identity) ([]PromotionUsage, error) {
	if err := identity.RequireOwner(who, p.AdminClaim); err != nil {
		return nil, err
	}
	return p.Store.List(ctx)
}
