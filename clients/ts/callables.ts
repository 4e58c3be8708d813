// A typed wrapper over the Firebase JS SDK for the order backend's
// callables: one function per callable, typed by oms.d.ts (generated from
// the Go types: go run ./cmd/gen-ts). Copy clients/ts/ into a Next.js app,
// or import it; it needs only the firebase package.
//
//   const functions = getFunctions(app, "us-central1");
//   const order = await startCheckout(functions);
//   try { await applyCustomer(functions, { orderId: order.orderId, name, email }); }
//   catch (e) {
//     const err = callableError("applyCustomer", e);
//     if (err?.details.reason === "malformed" && err.details.field === "email") { /* show it by the field */ }
//   }
//
// Show errors by details.reason (and details.field), not by message: the
// message is for people, and the JS SDK's own messages may change.

import { doc, type DocumentReference, type Firestore, type FirestoreDataConverter } from "firebase/firestore";
import { FunctionsError, httpsCallable, type Functions } from "firebase/functions";
import type {
  AdjustStockRequest,
  CancelOrderRequest,
  RefundOrderRequest,
  RetryOrderRequest,
  LabelRequest,
  MarkShippedRequest,
  ApplyCustomerRequest,
  CallableError,
  CallableName,
  Callables,
  CreatePaymentSessionRequest,
  ErrorCode,
  OrderDocument,
  QuoteShippingRequest,
  SelectShippingRequest,
} from "./oms";

/** The answer of callable N. */
export type Answer<N extends CallableName> = Callables[N]["answer"];

async function invoke<N extends CallableName>(functions: Functions, name: N, data: Callables[N]["request"]): Promise<Answer<N>> {
  const call = httpsCallable<Callables[N]["request"], Answer<N>>(functions, name);
  return (await call(data)).data;
}

/** whoami: who the backend thinks the caller is (a wiring check). */
export const whoami = (functions: Functions) => invoke(functions, "whoami", {});

/** startCheckout: the caller's cart (carts/{uid}) becomes their pending order. */
export const startCheckout = (functions: Functions) => invoke(functions, "startCheckout", {});

/** applyCustomer: the customer's name, email and code; answers the priced order. */
export const applyCustomer = (functions: Functions, data: ApplyCustomerRequest) => invoke(functions, "applyCustomer", data);

/** quoteShipping: verifies the address and quotes rates. */
export const quoteShipping = (functions: Functions, data: QuoteShippingRequest) => invoke(functions, "quoteShipping", data);

/** selectShipping: chooses a quoted rate; answers the order priced with its shipping. */
export const selectShipping = (functions: Functions, data: SelectShippingRequest) => invoke(functions, "selectShipping", data);

/** createPaymentSession: the Stripe Checkout Session to send the customer to (its url). */
export const createPaymentSession = (functions: Functions, data: CreatePaymentSessionRequest) =>
  invoke(functions, "createPaymentSession", data);

/** adjustStock (the owner only): changes a SKU's stock on hand, with a reason for the ledger. */
export const adjustStock = (functions: Functions, data: AdjustStockRequest) => invoke(functions, "adjustStock", data);

/** buyLabel (the owner only): the parcel's label, bought once through ShipEngine. */
export const buyLabel = (functions: Functions, data: LabelRequest) => invoke(functions, "buyLabel", data);

/** voidLabel (the owner only): voids the parcel's label before the carrier scanned it. */
export const voidLabel = (functions: Functions, data: LabelRequest) => invoke(functions, "voidLabel", data);

/** markShipped (the owner only): the carrier and tracking of an order's parcel part. */
export const markShipped = (functions: Functions, data: MarkShippedRequest) => invoke(functions, "markShipped", data);

/** retryOrder (the owner only): an order that needs attention runs its failed step again. */
export const retryOrder = (functions: Functions, data: RetryOrderRequest) => invoke(functions, "retryOrder", data);

/** cancelOrder (the owner only): cancels an order before anything ships; a charged one is refunded in full. */
export const cancelOrder = (functions: Functions, data: CancelOrderRequest) => invoke(functions, "cancelOrder", data);

/** refundOrder (the owner only): refunds part ({ amount } in cents) or all ({ full: true }, no amount) of a charged order: one of the two, never neither. */
export const refundOrder = (functions: Functions, data: RefundOrderRequest) => invoke(functions, "refundOrder", data);

/**
 * The typed error of callable `name`, or undefined when `e` is not an
 * error the backend answered (a network failure, a bug in the page). The
 * JS SDK appends " [<HTTP status>]" to some messages; it is removed here.
 */
export function callableError<N extends CallableName>(name: N, e: unknown): CallableError<Callables[N]["reason"]> | undefined {
  if (!(e instanceof FunctionsError)) return undefined;
  const details = e.details as { reason?: unknown } | undefined;
  if (typeof details !== "object" || details === null || typeof details.reason !== "string") return undefined;
  return {
    code: e.code as ErrorCode,
    message: e.message.replace(/ \[\d{3}\]$/, ""),
    details: details as CallableError<Callables[N]["reason"]>["details"],
  };
}

const orderConverter: FirestoreDataConverter<OrderDocument> = {
  toFirestore() {
    throw new Error("orders are written only by the backend");
  },
  fromFirestore(snapshot) {
    return snapshot.data() as OrderDocument;
  },
};

/** orders/{orderId}, typed: read it with getDoc or onSnapshot (the rules let only its owner). */
export function orderRef(db: Firestore, orderId: string): DocumentReference<OrderDocument> {
  return doc(db, "orders", orderId).withConverter(orderConverter);
}
