// The demo shop: the customer's side of the order backend, built the way a
// storefront builds it — the Firebase JS SDK (its browser build, from
// node_modules) and the typed wrapper in clients/ts. `make dev` serves it
// at /shop/; docs/api.md, "Building the storefront", is the journey it
// follows step by step:
//
//   1. sign in anonymously            5. address → quoteShipping (and "use the address we found?")
//   2. the catalog and carts/{uid}     6. a rate → selectShipping
//   3. Check out → startCheckout       7. Pay → createPaymentSession, then Stripe's page
//   4. name, email, code → applyCustomer  8. the order's live page: onSnapshot(orderRef(...))
//
// Every answer of the contract is shown in words (words.ts); errors are read
// by details.reason and details.field, never by the message. Everything the
// customer or the catalog wrote is put on the page as text (textContent),
// never as markup.

import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, signInAnonymously } from "firebase/auth";
import {
  collection, connectFirestoreEmulator, deleteDoc, doc, getDoc, getDocs, getFirestore, onSnapshot, serverTimestamp, setDoc, type Timestamp,
} from "firebase/firestore";
import { connectFunctionsEmulator, getFunctions } from "firebase/functions";
import {
  applyCustomer, callableError, createPaymentSession, orderRef, quoteShipping, selectShipping, startCheckout,
} from "../ts/callables.js";
import type { Address, ErrorDetails, Order, Part, QuoteShippingAnswer } from "../ts/oms";
import { codeWords, fieldName, lineWords, say, stateWords, type CustomerCallable } from "./words.js";

// ---- 1. Connect and sign in ------------------------------------------------

/** /shop/config.json, written by the local host. A deployed storefront has its Firebase config in its build instead. */
interface ShopConfig {
  projectId: string;
  region: string;
  apiKey: string;
  emulators: { auth: string; firestore: { host: string; port: string } };
}

const config = (await (await fetch("config.json")).json()) as ShopConfig;
const app = initializeApp({ projectId: config.projectId, apiKey: config.apiKey });
const auth = getAuth(app);
connectAuthEmulator(auth, config.emulators.auth, { disableWarnings: true });
const db = getFirestore(app);
connectFirestoreEmulator(db, config.emulators.firestore.host, Number(config.emulators.firestore.port));
const functions = getFunctions(app, config.region);
// The callables are served by the same host as this page (its origin is in OMS_STOREFRONT_ORIGINS).
connectFunctionsEmulator(functions, location.hostname, Number(location.port));

// Anonymous is enough to shop; the account (and so the cart and orders) lives in this browser.
await auth.authStateReady();
const user = auth.currentUser ?? (await signInAnonymously(auth)).user;
const cartRef = doc(db, "carts", user.uid);

// ---- A little DOM help: elements with text, never markup --------------------

type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c) el.append(c);
  return el;
}

/** Replaces an element's children, skipping the empty ones. */
function put(el: HTMLElement, ...children: Child[]) {
  el.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

const main = document.querySelector("main")!;
const dollars = (cents: number, currency = "USD") =>
  new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);

/** Shows text in the page's message area for the given section (role=alert, so screen readers read it). */
function tell(section: HTMLElement, text: string, kind: "error" | "note" = "error") {
  section.querySelector(":scope > .message")?.remove();
  section.append(h("p", { class: `message ${kind}`, role: "alert" }, text));
}

/** Removes a section's messages and its fields' errors. */
function clear(section: HTMLElement) {
  section.querySelectorAll(".message, .field-error").forEach((e) => e.remove());
}

/**
 * Calls a callable for a section and shows its error in words: by the
 * field it names when the section has that field, otherwise above it.
 * Answers undefined when the call failed (the customer has been told).
 */
async function call<N extends CustomerCallable, T>(name: N, section: HTMLElement, run: () => Promise<T>): Promise<T | undefined> {
  clear(section);
  section.classList.add("busy");
  try {
    return await run();
  } catch (e) {
    const err = callableError(name, e);
    if (!err) {
      tell(section, "We could not reach the shop. Check your connection and try again.");
      return undefined;
    }
    handle(section, err.details.reason, err.details);
    return undefined;
  } finally {
    section.classList.remove("busy");
  }
}

function handle(section: HTMLElement, reason: Parameters<typeof say>[0], d: ErrorDetails) {
  const words = say(reason, d);
  // Reasons that move the customer on.
  if (reason === "payment_completed" && current) return follow(current.orderId);
  if (reason === "order_not_pending" && current && d.state !== "expired") return follow(current.orderId);
  if (reason === "bad_lines" || reason === "out_of_stock") markCart(d);
  if ((reason === "quote_expired" || reason === "unknown_rate") && lastAddress) {
    void quote(lastAddress, words); // the note is shown with the new rates
    return;
  }
  if (reason === "repriced" && current) void reload(current.orderId); // the new total, before paying again
  // A field's error goes by the field (address.postalCode → input name="address.postalCode").
  const fields = d.fields ?? (d.field ? [d.field] : []);
  let placed = false;
  for (const f of fields) {
    const input = section.querySelector<HTMLInputElement>(`[name="${CSS.escape(f)}"]`);
    if (!input) continue;
    input.closest("label")?.append(h("span", { class: "field-error", role: "alert" }, fields.length > 1 ? `Please check ${fieldName(f)}.` : words));
    placed = true;
  }
  if (!placed) tell(section, words);
}

// ---- 2. The catalog and the cart --------------------------------------------

/** skus/{id} as the catalog holds it (docs/api.md, "The catalog's pricing"): the fields the shop shows. */
interface SkuDoc {
  productId: string;
  name: string;
  active: boolean;
  fulfillment: "stock" | "print_on_demand";
  price: { amount: number; currency: string };
  sale?: { price: { amount: number; currency: string }; startsAt: Timestamp; endsAt: Timestamp } | null;
  maxPerOrder?: number;
}

interface CartLine {
  sku: string;
  quantity: number;
}

let cart: CartLine[] = [];
let skus = new Map<string, SkuDoc>();

/** What the catalog shows as the price; the backend prices the order itself (nothing the page says about money is believed). */
function shownPrice(s: SkuDoc): { now: number; was?: number } {
  const t = Date.now();
  if (s.sale && s.sale.startsAt.toMillis() <= t && t < s.sale.endsAt.toMillis()) return { now: s.sale.price.amount, was: s.price.amount };
  return { now: s.price.amount };
}

async function shop() {
  const [products, skuDocs] = await Promise.all([getDocs(collection(db, "products")), getDocs(collection(db, "skus"))]);
  skus = new Map(skuDocs.docs.map((d) => [d.id, d.data() as SkuDoc]));
  const catalog = h("section", { id: "catalog" }, h("h2", {}, "Planners and supplies"));
  for (const p of products.docs) {
    const product = p.data() as { name: string; description: string; active: boolean };
    if (!product.active) continue;
    const options = h("div", { class: "options" });
    for (const [id, s] of skus) {
      if (s.productId !== p.id || !s.active) continue;
      const price = shownPrice(s);
      options.append(h("div", { class: "option" },
        h("span", {}, s.name),
        h("span", { class: "price" }, dollars(price.now, s.price.currency), price.was ? h("s", {}, dollars(price.was, s.price.currency)) : null),
        h("span", { class: "how" }, s.fulfillment === "print_on_demand" ? "printed when you order" : "in stock"),
        button("Add to cart", () => addToCart(id), { "data-sku": id })));
    }
    catalog.append(h("article", { class: "product" }, h("h3", {}, product.name), h("p", {}, product.description), options));
  }
  main.replaceChildren(catalog, h("section", { id: "cart" }), h("section", { id: "checkout", hidden: "" }));
  // The cart follows carts/{uid} live: another tab's changes show here too.
  onSnapshot(cartRef, (snap) => {
    const next = snap.exists() ? ((snap.data().items as CartLine[]) ?? []) : [];
    const changed = JSON.stringify(next) !== JSON.stringify(cart);
    cart = next;
    renderCart();
    // The checkout holds the cart as it was: a changed cart (here or in
    // another tab) must be checked out again, or the customer would pay
    // for the old one.
    if (changed && current) closeCheckout();
  });
}

function button(label: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLElement {
  const b = h("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

/**
 * The cart's last write. onSnapshot shows a write at once, before the
 * server has it; startCheckout reads the cart on the server, so checkout
 * waits for this first (or it would hold the cart as it was).
 */
let saving: Promise<void> = Promise.resolve();

/** Writes the cart: exactly {items: [{sku, quantity}], updatedAt}, the shape the rules allow. */
function saveCart(items: CartLine[]): Promise<void> {
  saving = setDoc(cartRef, { items: items.filter((l) => l.quantity > 0), updatedAt: serverTimestamp() });
  return saving;
}

function addToCart(sku: string) {
  const line = cart.find((l) => l.sku === sku);
  void saveCart(line ? cart.map((l) => (l.sku === sku ? { ...l, quantity: Math.min(99, l.quantity + 1) } : l)) : [...cart, { sku, quantity: 1 }]);
}

function renderCart() {
  const section = document.getElementById("cart")!;
  const items = cart.map((l) => {
    const s = skus.get(l.sku);
    return h("li", { "data-sku": l.sku },
      h("span", {}, s?.name ?? l.sku),
      h("span", { class: "qty" },
        button("−", () => void saveCart(cart.map((x) => (x.sku === l.sku ? { ...x, quantity: x.quantity - 1 } : x))), { "aria-label": "one fewer" }),
        ` ${l.quantity} `,
        button("+", () => addToCart(l.sku), { "aria-label": "one more" })),
      h("span", { class: "price" }, s ? dollars(shownPrice(s).now * l.quantity, s.price.currency) : ""));
  });
  put(section, h("h2", {}, "Your cart"),
    items.length ? h("ul", { class: "lines" }, ...items) : h("p", {}, "Your cart is empty."),
    items.length ? button("Check out", () => void checkout(), { id: "check-out" }) : null);
}

/** Marks the cart's lines that startCheckout refused (bad_lines) or could not hold (out_of_stock). */
function markCart(d: ErrorDetails) {
  for (const p of d.lines ?? []) {
    document.querySelector(`#cart li[data-sku="${CSS.escape(p.sku)}"]`)
      ?.append(h("span", { class: "field-error" }, lineWords[p.reason].replace("{max}", String(p.max ?? ""))));
  }
  for (const s of d.unavailable ?? []) {
    document.querySelector(`#cart li[data-sku="${CSS.escape(s.sku)}"]`)
      ?.append(h("span", { class: "field-error" }, s.available > 0 ? `only ${s.available} left` : "sold out"));
  }
}

// ---- 3–7. Checkout ------------------------------------------------------------

/** Closes the checkout after the cart changed: startCheckout must hold the new cart. */
function closeCheckout() {
  current = undefined;
  const section = document.getElementById("checkout")!;
  put(section, h("h2", {}, "Checkout"), h("p", { class: "message note" }, "Your cart changed: check out again to see the new total."),
    button("Check out again", () => void checkout(), { id: "check-out-again" }));
}

/** Reads the order again (after "repriced") and shows its new total on the summary and the Pay button. */
async function reload(orderId: string) {
  const snap = await getDoc(orderRef(db, orderId));
  const o = snap.data();
  if (!o || current?.orderId !== orderId) return; // the checkout closed meanwhile
  refresh(o as unknown as Order);
  const pay = document.getElementById("pay-now");
  if (pay) pay.textContent = `Pay ${dollars(o.total, o.currency)}`;
}

/** The pending order as the backend last answered it. */
let current: Order | undefined;
let lastAddress: Address | undefined;

async function checkout() {
  const section = document.getElementById("checkout")!;
  section.hidden = false;
  const cartSection = document.getElementById("cart")!;
  try {
    await saving;
  } catch {
    return tell(cartSection, "Your cart could not be saved. Check your connection and try again.");
  }
  const held = JSON.stringify(cart);
  const order = await call("startCheckout", cartSection, () => startCheckout(functions));
  if (!order) return;
  current = order;
  // The cart changed while startCheckout worked: it held the cart as it was.
  if (JSON.stringify(cart) !== held) return closeCheckout();
  section.replaceChildren(h("h2", {}, "Checkout"), summary(order), customerForm(), h("div", { id: "shipping" }), h("div", { id: "pay" }));
  section.scrollIntoView();
}

/** A carrier's service as the customer reads it: "USPS Ground Advantage", not "USPS USPS Ground Advantage". */
const service = (carrier: string, name: string) => (name.startsWith(carrier) ? name : `${carrier} ${name}`);

/** The order's lines and amounts, as the backend priced them (and taxed them, once shipping is chosen): the rows add up to the total. */
function summary(o: Order): HTMLElement {
  const rows: Child[] = o.lines.map((l) =>
    h("tr", {}, h("td", {}, `${l.quantity} × ${l.name}`), h("td", {}, dollars(l.total, o.currency))));
  const row = (label: string, cents: number, id: string) => h("tr", { id }, h("td", {}, label), h("td", {}, dollars(cents, o.currency)));
  if (o.discount) rows.push(row(o.promotions.map((p) => p.name).join(", ") || "Discount", -o.discount, "discount"));
  if (o.shippingChoice) rows.push(row(`Shipping (${service(o.shippingChoice.carrier, o.shippingChoice.service)})`, o.shipping - o.shippingDiscount, "shipping-row"));
  // Sales tax, worked out by the backend for the chosen address: its own line, so that the rows add up to the total.
  if (o.tax > 0) rows.push(row("Sales tax", o.tax, "tax-row"));
  rows.push(h("tr", { class: "total" }, h("td", {}, "Total"), h("td", { id: "total" }, dollars(o.total, o.currency))));
  // A pending order holds its stock until holdExpiresAt (an RFC 3339 string in every answer).
  const held = o.state === "pending" && typeof o.holdExpiresAt === "string"
    ? h("caption", { id: "hold" }, `We hold your items until ${new Date(o.holdExpiresAt).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}.`)
    : null;
  return h("table", { id: "summary" }, held, h("tbody", {}, ...rows));
}

function refresh(o: Order) {
  current = o;
  document.getElementById("summary")?.replaceWith(summary(o));
}

function customerForm(): HTMLElement {
  // novalidate: the backend checks every field and its answer is shown by the field, in words.
  const form = h("form", { id: "customer", novalidate: "" },
    h("h3", {}, "Who it is for"),
    field("Name", "name", "text", "name"), field("Email", "email", "email", "email"), field("Code (optional)", "code", "text", "off"),
    h("button", { type: "submit" }, "Continue")) as HTMLFormElement;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const code = String(data.get("code") ?? "").trim();
    const o = await call("applyCustomer", form, () =>
      applyCustomer(functions, { orderId: current!.orderId, name: String(data.get("name")), email: String(data.get("email")), ...(code ? { code } : {}) }));
    if (!o) return;
    refresh(o);
    // A code that does not apply is not an error: say what became of it by its field.
    if (o.code) {
      const words = codeWords[o.code.status] + (o.code.status !== "applied" && o.code.message ? ` ${o.code.message}` : "");
      form.querySelector('[name="code"]')!.closest("label")!.append(h("span", { class: o.code.status === "applied" ? "field-note" : "field-error" }, words));
    }
    // The customer (and so the price) changed: choose shipping again.
    document.getElementById("shipping")!.replaceChildren(addressForm());
    document.getElementById("pay")!.replaceChildren();
  });
  return form;
}

function field(label: string, name: string, type = "text", autocomplete = "on", required = true): HTMLElement {
  return h("label", {}, h("span", {}, label), h("input", { name, type, autocomplete, ...(required ? {} : { "data-optional": "" }) }));
}

function addressForm(): HTMLElement {
  const form = h("form", { id: "address", novalidate: "" },
    h("h3", {}, "Where it goes"),
    field("Name", "address.name", "text", "shipping name"),
    field("Street address", "address.addressLine1", "text", "shipping address-line1"),
    field("Apartment, suite (optional)", "address.addressLine2", "text", "shipping address-line2", false),
    field("City", "address.cityLocality", "text", "shipping address-level2"),
    field("State", "address.stateProvince", "text", "shipping address-level1"),
    field("ZIP code", "address.postalCode", "text", "shipping postal-code"),
    field("Country", "address.countryCode", "text", "shipping country"),
    // The printer's carrier needs a phone number for printed planners (printer_needs_phone otherwise).
    field("Phone (for the carrier)", "address.phone", "tel", "shipping tel", false),
    h("button", { type: "submit" }, "See shipping options"),
    h("div", { id: "rates" })) as HTMLFormElement;
  (form.querySelector('[name="address.countryCode"]') as HTMLInputElement).value = "US";
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const get = (k: string) => String(data.get(`address.${k}`) ?? "").trim();
    const address: Address = {
      name: get("name"), addressLine1: get("addressLine1"), cityLocality: get("cityLocality"),
      stateProvince: get("stateProvince"), postalCode: get("postalCode"), countryCode: get("countryCode"),
    };
    if (get("addressLine2")) address.addressLine2 = get("addressLine2");
    if (get("phone")) address.phone = get("phone");
    void quote(address);
  });
  return form;
}

const oneLine = (a: Address) =>
  [a.addressLine1, a.addressLine2, a.cityLocality, `${a.stateProvince} ${a.postalCode}`, a.countryCode].filter(Boolean).join(", ");

async function quote(address: Address, note?: string) {
  lastAddress = address;
  const form = document.getElementById("address")!;
  document.getElementById("pay")!.replaceChildren(); // a new quote: choose a rate again
  const q = await call("quoteShipping", form, () => quoteShipping(functions, { orderId: current!.orderId, address }));
  if (!q) return;
  put(document.getElementById("rates")!, note ? h("p", { class: "message note", role: "alert" }, note) : null, ...rateChoices(q));
}

/** The address question (when ShipEngine's match differs) and one button per rate. */
function rateChoices(q: QuoteShippingAnswer): Child[] {
  let useVerified = q.differs;
  const out: Child[] = [];
  if (q.status === "error") out.push(h("p", { class: "message note" }, "We could not find that address; please check it. You may still ship to it as typed."));
  if (q.differs && q.verifiedAddress) {
    const ours = h("input", { type: "radio", name: "which", checked: "" });
    const theirs = h("input", { type: "radio", name: "which" });
    ours.addEventListener("change", () => (useVerified = true));
    theirs.addEventListener("change", () => (useVerified = false));
    out.push(h("fieldset", { id: "suggestion" },
      h("legend", {}, "We found a slightly different address — use it?"),
      h("label", {}, ours, ` Use: ${oneLine(q.verifiedAddress)}`),
      h("label", {}, theirs, ` Keep mine as typed: ${oneLine(lastAddress!)}`)));
  }
  if (!q.rates.length) out.push(h("p", { class: "message error" }, "No carrier ships to that address. Please check it."));
  for (const r of q.rates) {
    const when = r.deliveryDays ? `, ${r.deliveryDays} day${r.deliveryDays > 1 ? "s" : ""}` : "";
    const b = button(`${service(r.carrier, r.service)}${when}: ${dollars(r.amount, q.currency)}`, () => {
      document.querySelectorAll("button.rate").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      void choose(r.rateId, useVerified);
    }, { class: "rate", "data-rate": r.rateId, "aria-pressed": "false" });
    out.push(b);
  }
  return out;
}

async function choose(rateId: string, useVerifiedAddress: boolean) {
  const form = document.getElementById("address")!;
  // One choice at a time: the rates wait for the answer, so the summary
  // and the Pay button always show the choice the backend kept.
  const rates = [...document.querySelectorAll<HTMLButtonElement>("button.rate")];
  rates.forEach((b) => (b.disabled = true));
  const o = await call("selectShipping", form, () => selectShipping(functions, { orderId: current!.orderId, rateId, useVerifiedAddress }));
  rates.forEach((b) => (b.disabled = false));
  if (!o) return;
  refresh(o);
  const pay = document.getElementById("pay")!;
  pay.replaceChildren(h("p", {}, `Shipping to ${o.shippingChoice!.address.name}, ${oneLine(o.shippingChoice!.address)}.`),
    button(`Pay ${dollars(o.total, o.currency)}`, () => void payNow(), { id: "pay-now" }),
    h("p", { class: "small" }, "Your card is authorized now and charged when we accept your order."));
}

async function payNow() {
  const pay = document.getElementById("pay")!;
  const orderId = current!.orderId;
  const base = `${location.origin}${location.pathname}`;
  const session = await call("createPaymentSession", pay, () =>
    createPaymentSession(functions, { orderId, successUrl: `${base}?order=${orderId}`, cancelUrl: base }));
  if (session) location.assign(session.url); // Stripe's page (the local Stripe's, in make dev)
}

// ---- 8. The order's live page ---------------------------------------------------

/** The steps the customer watches, in order. */
const steps = ["authorized", "invoiced", "paid", "fulfilling", "shipped"] as const;
const partWords: Record<string, string> = {
  waiting: "waiting", labelled: "label printed, waiting for the carrier", submitted: "sent to the printer", in_production: "being printed",
  shipped: "shipped", in_transit: "in transit", out_for_delivery: "out for delivery", exception: "delayed: the carrier reports a problem",
  delivered: "delivered", failed: "the printer could not print it; the store is on it", canceled: "canceled",
};

/** The cart was cleared after payment (once per page). */
let cleared = false;

function follow(orderId: string) {
  if (location.search !== `?order=${orderId}`) {
    location.assign(`${location.pathname}?order=${encodeURIComponent(orderId)}`);
    return;
  }
  main.replaceChildren(h("section", { id: "status" }, h("h2", {}, "Your order"), h("p", {}, "Loading…")));
  // The order document follows every step live; the rules let only its owner read it.
  onSnapshot(orderRef(db, orderId), (snap) => {
    const o = snap.data();
    if (!o) return void main.replaceChildren(h("p", { class: "message error" }, "We could not find that order in this browser."));
    // Paid: the cart has become this order (the backend never empties it).
    if (!cleared && o.paymentStatus !== "none" && o.paymentStatus !== "awaiting_payment") {
      cleared = true; // once: a cart built later in another tab is not this order's
      void deleteDoc(cartRef).catch(() => {});
    }
    main.replaceChildren(statusPage(o as unknown as Order<Timestamp>));
  }, (err) => main.replaceChildren(h("p", { class: "message error" }, err.code === "permission-denied"
    ? "This order belongs to another browser's account: open it in the browser you ordered with."
    : "We lost the connection to your order. Reload the page to follow it again.")));
}

function statusPage(o: Order<Timestamp>): HTMLElement {
  const reached = steps.indexOf(o.state as (typeof steps)[number]);
  const at = o.state === "approved" ? steps.indexOf("invoiced") : reached;
  const waiting = o.state === "pending" && o.paymentStatus === "awaiting_payment";
  const progress = h("ol", { class: "steps" }, ...steps.map((s, i) =>
    h("li", { class: at >= i || (o.state === "shipped" && i <= 4) ? "done" : "" }, stateWords[s].split(":")[0])));
  const parts = (o.fulfilment?.parts ?? []).map((p: Part<Timestamp>) =>
    h("li", { "data-part": p.kind },
      h("strong", {}, p.kind === "print" ? "Printed planners" : "From our studio"), " — ",
      h("span", { class: "part-status" }, partWords[p.status] ?? p.status),
      h("div", { class: "small" }, p.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ")),
      p.trackingNumber ? h("div", {}, `${p.carrier} `, /^https?:\/\//.test(p.trackingUrl) ? h("a", { href: p.trackingUrl, target: "_blank", rel: "noopener" }, p.trackingNumber) : p.trackingNumber) : null,
      p.trackingNote ? h("div", { class: "small" }, p.trackingNote) : null));
  return h("section", { id: "status" },
    h("h2", {}, `Order ${o.orderId}`),
    h("p", { id: "state", "data-state": o.state }, waiting ? "Confirming your payment…" : stateWords[o.state]),
    progress,
    summary(o as unknown as Order),
    o.refunded ? h("p", { id: "refunded" }, `Refunded to your card: ${dollars(o.refunded, o.currency)}`) : null,
    parts.length ? h("ul", { class: "parts" }, ...parts) : null,
    h("p", {}, h("a", { href: location.pathname }, "Back to the shop")));
}

// ---- Start ------------------------------------------------------------------------

const followed = new URLSearchParams(location.search).get("order");
if (followed) follow(followed);
else await shop();
