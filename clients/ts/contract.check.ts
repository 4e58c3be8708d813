// Type-level checks of the contract, run by `tsc --noEmit` in make test:
// what a storefront may write compiles, and what the backend would refuse
// (a price in a request, a reason a callable never answers, an order
// field that does not exist) does not: each @ts-expect-error line must be
// an error, or tsc fails.

import type { Functions } from "firebase/functions";
import type { Firestore } from "firebase/firestore";
import { applyCustomer, callableError, createPaymentSession, orderRef, selectShipping, startCheckout } from "./callables";
import type { Callables, OrderDocument, StartCheckoutAnswer } from "./oms";

declare const functions: Functions;
declare const db: Firestore;

export async function journey(): Promise<string> {
  const order: StartCheckoutAnswer = await startCheckout(functions);
  const shown: number = order.subtotal - order.discount + order.shipping - order.shippingDiscount;
  if (shown !== order.total) throw new Error("the amounts do not add up");
  const reason: string | undefined = order.lines[0]?.fulfillment;

  // @ts-expect-error: a price is never sent.
  await applyCustomer(functions, { orderId: order.orderId, name: "Ann", email: "ann@example.com", price: 1 });

  const priced = await selectShipping(functions, { orderId: order.orderId, rateId: "se-1" });
  const carrier: string | undefined = priced.shippingChoice?.carrier;
  // @ts-expect-error: the shipping amount is a number, the choice is shippingChoice.
  const wrong: string = priced.shipping.carrier;

  const session = await createPaymentSession(functions, { orderId: order.orderId });
  return `${reason}${carrier}${wrong}${session.url}`;
}

export function errors(e: unknown): string {
  const err = callableError("selectShipping", e);
  switch (err?.details.reason) {
    case "no_quote":
    case "quote_expired":
    case "unknown_rate":
      return "quote again";
    // @ts-expect-error: selectShipping never answers out_of_stock.
    case "out_of_stock":
      return "never";
  }
  const line = callableError("startCheckout", e)?.details.lines?.[0];
  if (line?.reason === "over_max_per_order") return `at most ${line.max}`;
  return err?.message ?? "";
}

export function document(snapshot: OrderDocument): Date | undefined {
  // On the document, times are Firestore timestamps.
  const created: Date = snapshot.createdAt.toDate();
  // @ts-expect-error: the document has no "pricing" in the contract: read the view's fields.
  const internal = snapshot.pricing;
  void internal;
  void orderRef(db, "K7Q2M9XH4TBA");
  return snapshot.holdExpiresAt?.toDate() ?? created;
}

// Every callable has a typed wrapper.
type Wrapped = "whoami" | "startCheckout" | "applyCustomer" | "quoteShipping" | "selectShipping" | "createPaymentSession" | "adjustStock" | "buyLabel" | "voidLabel" | "markShipped" | "retryOrder" | "cancelOrder" | "refundOrder";
export const everyCallableWrapped: [Exclude<keyof Callables, Wrapped>] extends [never] ? true : false = true;
