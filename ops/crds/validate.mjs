// Validates custom resources against their CRDs' OpenAPI schemas (compiled into the
// @kubernetes-models packages from the operators' own CRDs).
//
//   node ops/crds/validate.mjs < resources.json     # a JSON array of manifests
//
// Prints a JSON array with one {apiVersion, kind, name, errors} per manifest; a kind whose CRD
// is not known here is an error too, so nothing passes unchecked.
import { readFileSync } from "node:fs";

const packages = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function problems(manifest) {
  const [group, version] = String(manifest.apiVersion).split("/");
  const owner = packages[group];
  if (!owner || !version) return [`no CRD schema known for ${manifest.apiVersion} ${manifest.kind}`];
  let Model;
  try {
    Model = (await import(`${owner}/${group}/${version}/${manifest.kind}`))[manifest.kind];
  } catch {
    return [`${group} has no ${manifest.kind} in version ${version}`];
  }
  try {
    new Model(manifest).validate();
    return [];
  } catch (error) {
    return String(error.message).split("\n").filter(Boolean);
  }
}

const manifests = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const manifest of manifests) {
  results.push({
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    name: manifest.metadata?.name,
    errors: await problems(manifest),
  });
}
process.stdout.write(JSON.stringify(results));
