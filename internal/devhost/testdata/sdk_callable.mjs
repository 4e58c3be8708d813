// Calls a callable the way a storefront does: the Firebase JS SDK's
// httpsCallable with connectFunctionsEmulator, signed in anonymously
// through the Auth emulator. Prints one JSON line for the Go test.
import { initializeApp } from "firebase/app";
import { getAuth, connectAuthEmulator, signInAnonymously } from "firebase/auth";
import { getFunctions, connectFunctionsEmulator, httpsCallable } from "firebase/functions";

const [fnHost, fnPort, authHost, project, region] = process.argv.slice(2);
const app = initializeApp({ projectId: project, apiKey: "fake-api-key" });
const auth = getAuth(app);
connectAuthEmulator(auth, `http://${authHost}`, { disableWarnings: true });
const cred = await signInAnonymously(auth);
const functions = getFunctions(app, region);
connectFunctionsEmulator(functions, fnHost, Number(fnPort));

const ok = await httpsCallable(functions, "whoami")({});
let error = null;
try {
  await httpsCallable(functions, "whoami")({ price: 1 });
} catch (e) {
  error = { code: e.code, message: e.message };
}
console.log(JSON.stringify({ uid: cred.user.uid, result: ok.data, error }));
process.exit(0);
