// Runs before `npm install`, on whatever Node runs npm itself. Grounds runs
// on Node 24: npm installs it as a devDependency (the `node` package), and
// every `npm run …`, `npm test` and `npx …` then uses it. When npm itself
// runs on an older Node, say so once — plainly — instead of leaving the
// reader with dozens of EBADENGINE warnings (which .npmrc keeps quiet).
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.log(
    `Grounds runs on Node 24. This npm runs on Node ${process.versions.node}: that is fine — ` +
      "Node 24 is installed into node_modules, and npm run / npm test / npx use it.",
  );
}
