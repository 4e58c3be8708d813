// Calls the backend the way a storefront does, with the Firebase JS SDK:
// sign in anonymously (Auth emulator), call whoami, write the cart through
// Firestore (security rules apply), call startCheckout with httpsCallable,
// and read the order back as its owner. Prints one JSON line for the Go test.
import { initializeApp } from "firebase/app";
import { getAuth, connectAuthEmulator, signInAnonymously } from "firebase/auth";
import { getFirestore, connectFirestoreEmulator, doc, setDoc, getDoc, serverTimestamp, Timestamp } from "firebase/firestore";
import { getFunctions, connectFunctionsEmulator, httpsCallable } from "firebase/functions";

const [fnHost, fnPort, authHost, fsHost, fsPort, project, region] = process.argv.slice(2);
const app = initializeApp({ projectId: project, apiKey: "fake-api-key" });
const auth = getAuth(app);
connectAuthEmulator(auth, `http://${authHost}`, { disableWarnings: true });
const db = getFirestore(app);
connectFirestoreEmulator(db, fsHost, Number(fsPort));
const functions = getFunctions(app, region);
connectFunctionsEmulator(functions, fnHost, Number(fnPort));

const cred = await signInAnonymously(auth);
const uid = cred.user.uid;
const who = await httpsCallable(functions, "whoami")({});
let error = null;
try {
  await httpsCallable(functions, "whoami")({ price: 1 });
} catch (e) {
  error = { code: e.code, message: e.message, details: e.details };
}

let cartRefused = false;
try {
  await setDoc(doc(db, "carts", uid), { items: [{ sku: "PEN-SET-6", quantity: 1, price: 1 }] });
} catch (e) {
  cartRefused = e.code === "permission-denied";
}
await setDoc(doc(db, "carts", uid), {
  items: [{ sku: "PEN-SET-6", quantity: 1 }, { sku: "PLN-DAY-A5-LINEN", quantity: 1 }],
  updatedAt: serverTimestamp(),
});
const checkout = await httpsCallable(functions, "startCheckout")({});
const priced = await httpsCallable(functions, "applyCustomer")({
  orderId: checkout.data.orderId, name: "Ann Lee", email: `ann.${uid.toLowerCase()}@example.com`, code: "welcome10",
});
const quote = await httpsCallable(functions, "quoteShipping")({
  orderId: checkout.data.orderId,
  address: { name: "Ann Lee", addressLine1: "500 congress avenue", cityLocality: "Austin", stateProvince: "TX", postalCode: "78701", countryCode: "US" },
});
const chosen = await httpsCallable(functions, "selectShipping")({
  orderId: checkout.data.orderId, rateId: quote.data.rates[0].rateId, useVerifiedAddress: quote.data.differs,
});
// The order document as the customer's page reads it (the rules let its
// owner), with its timestamps as RFC 3339 strings to compare with answers.
const iso = (v) => v instanceof Timestamp ? v.toDate().toISOString()
  : Array.isArray(v) ? v.map(iso)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, iso(x)]))
  : v;
const chosenDoc = iso((await getDoc(doc(db, "orders", checkout.data.orderId))).data());
const session = await httpsCallable(functions, "createPaymentSession")({ orderId: checkout.data.orderId });
// The customer clicks Pay on the (local) Stripe Checkout page.
const page = await fetch(session.data.url);
const paid = await fetch(`${session.data.url}/pay`, { method: "POST", redirect: "manual" });
let order = await getDoc(doc(db, "orders", checkout.data.orderId));
for (let i = 0; i < 50 && order.data().state === "pending"; i++) {
  await new Promise((r) => setTimeout(r, 100));
  order = await getDoc(doc(db, "orders", checkout.data.orderId));
}

console.log(JSON.stringify({
  uid, result: who.data, error, cartRefused, checkout: checkout.data, priced: priced.data, quote: quote.data, chosen: chosen.data,
  chosenDoc, session: session.data, pageStatus: page.status, payStatus: paid.status, payRedirect: paid.headers.get("location"),
  order: { state: order.data().state, uid: order.data().uid, subtotal: order.data().subtotal, total: order.data().total,
           capturable: order.data().payment.amountCapturable, paymentStatus: order.data().paymentStatus },
}));
process.exit(0);
