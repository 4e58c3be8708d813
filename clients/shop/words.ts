// What the customer reads for every answer of the contract: each error
// reason of the customer's callables, each cart-line reason and each order
// state, in words. The types are the contract's (clients/ts/oms.d.ts), so
// a reason added to the backend fails to compile here until it has words.

import type { Callables, CodeStatus, ErrorDetails, LineReason, OrderState } from "../ts/oms";

/** The callables a storefront calls for the customer. */
export type CustomerCallable = "whoami" | "startCheckout" | "applyCustomer" | "quoteShipping" | "selectShipping" | "createPaymentSession";

/** Every reason a customer's callable may answer. */
export type CustomerReason = Callables[CustomerCallable]["reason"];

const again = "Please try again in a moment.";

/** The words for each reason; fields and limits are filled in by say. */
export const reasonWords: Record<CustomerReason, string> = {
  // Every callable (the protocol, the sign-in, the database).
  bad_request: "The shop sent a request the backend could not read. Reload the page and try again.",
  unknown_field: "The shop sent a field the backend does not take ({field}). Reload the page and try again.",
  wrong_type: "The shop sent {field} in a form the backend does not take. Reload the page and try again.",
  sign_in_required: "Your session has ended. Reload the page to continue.",
  invalid_token: "Your session could not be checked. Reload the page to continue.",
  app_check_required: "This browser could not prove it is our shop's page. Reload the page and try again.",
  invalid_app_check: "This browser could not prove it is our shop's page. Reload the page and try again.",
  origin_not_allowed: "This page is not allowed to check out (the store's OMS_STOREFRONT_ORIGINS does not name it).",
  database_unavailable: "Our shop is busy right now. " + again,
  timeout: "That took too long. " + again,
  canceled: "That was interrupted. " + again,
  contention: "Many people are checking out at once. " + again,
  internal: "Something went wrong on our side. " + again,
  // The cart and the order.
  empty_cart: "Your cart is empty: add something first.",
  malformed_cart: "Your cart could not be read. Empty it and add your items again.",
  too_many_lines: "Your cart has more than {max} different items; remove some to check out.",
  bad_lines: "Some items in your cart cannot be bought as they are (see each item).",
  out_of_stock: "Some items sold out while you shopped (see each item).",
  order_not_found: "We could not find that checkout. Start again from your cart.",
  order_not_pending: "This order has moved on ({state}); it can no longer be changed here.",
  order_changed: "Your order changed in another tab while we worked. " + again,
  changing_elsewhere: "Your order keeps changing in another tab. Close the other tabs and try again.",
  payment_completed: "You have just paid for this order in another tab. We are taking you to your order.",
  // The customer, the address and the rates.
  required: "Please fill in {field}.",
  malformed: "Please check {field}: it does not look right.",
  too_long: "{field} is too long (at most {max} characters).",
  bad_address: "Please check the address: {fields}.",
  shipping_unavailable: "We could not reach the carriers to price your shipping. " + again,
  no_quote: "Please enter your address to see the shipping options first.",
  quote_expired: "Those shipping prices have expired: we fetched them again, please choose once more.",
  unknown_rate: "That shipping option is no longer offered: we fetched them again, please choose once more.",
  no_verified_address: "We found no match for that address; we will ship to the address as you typed it.",
  // Paying.
  no_customer: "Please give your name and email first.",
  no_shipping: "Please choose a shipping option first.",
  off_storefront: "The shop asked Stripe to return to a page that is not ours ({field}).",
  repriced: "A promotion ran out while you checked out, so the total changed. Please look at the new total and pay again.",
  payment_provider_unavailable: "We could not reach our payment provider. " + again,
  printer_needs_phone: "Our printer's carrier needs a phone number for printed planners: please add one to the address.",
  printer_cannot_ship: "Our printer cannot ship printed planners to that country yet.",
  // Sales tax, worked out for the shipping address before anything is paid.
  tax_unavailable: "We could not work out the sales tax for your order just now, so it cannot be paid yet. " + again,
  tax_address: "We could not work out the sales tax for that address: please check it and choose your shipping again.",
};

/** The words for each reason a cart line is refused. */
export const lineWords: Record<LineReason, string> = {
  no_sku: "this line names no product",
  malformed_sku: "this product's code is not valid",
  bad_quantity: "the quantity must be a whole number from 1 to 99",
  unknown_sku: "we no longer sell this: please remove it",
  inactive: "this is not for sale right now: please remove it",
  wrong_currency: "this is priced in another currency and cannot be bought with the rest",
  over_max_per_order: "at most {max} per order",
  malformed: "this line could not be read: please remove it",
};

/** What became of a typed code, when it did not apply (the backend's message follows). */
export const codeWords: Record<CodeStatus, string> = {
  applied: "Code applied.",
  unknown: "We do not know that code.",
  expired: "That code has expired.",
  not_eligible: "That code does not apply to this order.",
  limit_reached: "That code has been used up.",
};

/** Where the order is, as the customer's status page says it. */
export const stateWords: Record<OrderState, string> = {
  pending: "Waiting for payment",
  authorized: "Card authorized: we are preparing your invoice",
  invoiced: "Invoiced: waiting for the store's review",
  approved: "Approved: charging your card",
  paid: "Paid: getting your order ready",
  fulfilling: "Being printed and packed",
  shipped: "Shipped",
  refunded: "Refunded",
  expired: "Expired: the checkout was not paid in time",
  canceled: "Canceled",
  needs_attention: "The store is looking at your order",
};

/** Field paths as the customer reads them. */
const fieldWords: Record<string, string> = {
  name: "your name", email: "your email", code: "the code",
  "address.name": "the name", "address.phone": "the phone number", "address.addressLine1": "the street address",
  "address.addressLine2": "the second address line", "address.cityLocality": "the city", "address.stateProvince": "the state",
  "address.postalCode": "the ZIP code", "address.countryCode": "the country", successUrl: "the return page", cancelUrl: "the return page",
};

/** The field path in words ("address.postalCode" → "the ZIP code"). */
export function fieldName(path: string | undefined): string {
  return path ? fieldWords[path] ?? path : "a field";
}

/** The words for an error's reason, with its details filled in. */
export function say(reason: CustomerReason, d: ErrorDetails): string {
  const words = (reasonWords[reason] ?? reasonWords.internal)
    .replace("{field}", fieldName(d.field))
    .replace("{fields}", (d.fields ?? []).map(fieldName).join(", ") || "some fields")
    .replace("{max}", String(d.max ?? ""))
    .replace("{state}", d.state ? stateWords[d.state].toLowerCase() : "elsewhere");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
