// The Node.js counterpart of the Go startCheckout callable, for the cold
// start benchmark (internal/coldstart): firebase-functions' onCall served by
// @google-cloud/functions-framework, firebase-admin initialised, doing the
// same work on the same documents — the caller's token checked, the cart
// read, its SKUs read and priced, and in one transaction the checkout
// pointer and the stock read, the stock held, a movement and the order
// written. Its orders, movements and pointers go to collections of its
// own (coldstartNode*), so that the Go side's documents keep their shape;
// only inventory's `held` is shared.
const { onCall, HttpsError } = require("firebase-functions/v2/https");
const { initializeApp } = require("firebase-admin/app");
const { getFirestore, FieldValue } = require("firebase-admin/firestore");

initializeApp();
const db = getFirestore();

exports.startCheckout = onCall(async (req) => {
  if (!req.auth) {
    throw new HttpsError("unauthenticated", "sign in first");
  }
  const uid = req.auth.uid;
  const cart = await db.collection("carts").doc(uid).get();
  const items = cart.exists ? cart.get("items") || [] : [];
  if (items.length === 0) {
    throw new HttpsError("failed-precondition", "the cart is empty");
  }
  const snaps = await db.getAll(...items.map((it) => db.collection("skus").doc(it.sku)));
  const now = new Date();
  const lines = items.map((it, i) => {
    const s = snaps[i];
    if (!s.exists || !s.get("active")) {
      throw new HttpsError("failed-precondition", `line ${i + 1}: ${it.sku} is not for sale`);
    }
    const sale = s.get("sale");
    const onSale = sale && sale.startsAt.toDate() <= now && now < sale.endsAt.toDate();
    const price = onSale ? sale.price : s.get("price");
    return { sku: it.sku, quantity: it.quantity, unitPrice: price, stock: s.get("fulfillment") === "stock" };
  });
  const stocked = lines.filter((l) => l.stock);
  const total = lines.reduce((sum, l) => sum + l.unitPrice.amount * l.quantity, 0);
  const pointer = db.collection("coldstartNodeCheckouts").doc(uid);
  return db.runTransaction(async (tx) => {
    const [ptr, ...levels] = await tx.getAll(pointer, ...stocked.map((l) => db.collection("inventory").doc(l.sku)));
    if (ptr.exists) {
      return { orderId: ptr.get("orderId"), reused: true };
    }
    stocked.forEach((l, i) => {
      const available = (levels[i].get("onHand") || 0) - (levels[i].get("held") || 0);
      if (available < l.quantity) {
        throw new HttpsError("failed-precondition", `${l.sku}: only ${available} available`);
      }
    });
    const order = db.collection("coldstartNodeOrders").doc();
    stocked.forEach((l) => {
      tx.update(db.collection("inventory").doc(l.sku), { held: FieldValue.increment(l.quantity) });
      tx.create(db.collection("coldstartNodeMovements").doc(), { sku: l.sku, held: l.quantity, orderId: order.id, at: now });
    });
    const doc = { uid, state: "pending", lines, total: { amount: total, currency: lines[0].unitPrice.currency }, createdAt: now };
    tx.create(order, doc);
    tx.set(pointer, { orderId: order.id, updatedAt: now });
    return { orderId: order.id, state: doc.state, lines, total: total, currency: doc.total.currency, reused: false };
  });
});
