// The page of `mtfcdd serve`: sends images to POST /predict, one at a time,
// and shows what comes back. Everything it needs is served by the server.
"use strict";

const DIGITS = 4;  // significant digits of the scores and thresholds shown
let model = null;

function formatNumber(value) {
  const number = Number(value);
  // Scores of normal images can be tiny: 1.234e-5 reads better than 0.00001234.
  return number !== 0 && Math.abs(number) < 1e-3 ? number.toExponential(DIGITS - 1) : number.toPrecision(DIGITS);
}

function formatBytes(bytes) {
  return (bytes / 1e6).toFixed(2) + " MB";
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

function showFacts(facts) {
  const thresholds = facts.thresholds === null ? "none (no types are detected)"
    : facts.type_codes.map((code) => `${code} ${formatNumber(facts.thresholds[code])}`).join(", ");
  const rows = [
    ["file", facts.file],
    ["runtime", facts.runtime && facts.runtime + (facts.quantization ? ` (${facts.quantization})` : "")],
    ["file size", facts.file_size_bytes === undefined ? undefined : formatBytes(facts.file_size_bytes)],
    ["defect types", facts.type_codes.map((code) => `${code} ${facts.type_names[code]}`).join(", ")],
    ["input size", facts.image_size.join(" x ") + " pixels (height x width)"],
    ["backbone weights", facts.weights_source],
    ["score reduction", facts.score_reduction + (facts.score_reduction === "mean" ? " (paper Eq. 2)" : "")],
    ["thresholds", thresholds],
    ["unknown defects", facts.open_set === null ? "off (no open-set rule)"
      : `flagged by ${facts.open_set.method} at open-set score ${formatNumber(facts.open_set.threshold)}`],
    ["limits", `${formatBytes(facts.limits.max_upload_bytes)} per upload, `
      + `${facts.limits.max_pixels / 1e6} megapixels decoded`],
  ];
  const body = document.querySelector("#model-facts tbody");
  body.replaceChildren();
  for (const [label, value] of rows) {
    if (value === undefined) continue;  // a fact the server was not given
    const row = body.insertRow();
    const header = document.createElement("th");
    header.textContent = label;
    row.append(header);
    row.insertCell().textContent = value;
  }
}

async function loadFolder() {
  const response = await fetch("/images");
  const names = (await response.json()).images;
  const select = document.getElementById("folder-images");
  for (const name of names) {
    select.append(new Option(name, name));
  }
  document.getElementById("folder").hidden = names.length === 0;
}

function addCard(card) {
  document.getElementById("results").prepend(card);
}

function showError(name, message) {
  const card = document.createElement("article");
  card.className = "result error";
  const title = document.createElement("h3");
  title.textContent = name;
  const text = document.createElement("p");
  text.className = "message";
  text.setAttribute("role", "alert");
  text.textContent = message;
  card.append(title, text);
  addCard(card);
}

// What the colours mean, for the type shown large (docs/deployment.md).
function showScale(card, heatmaps, code) {
  const [low, high] = heatmaps.value_ranges[code];
  card.dataset.scale = heatmaps.scale;
  card.querySelector(".colour-scale .low").textContent = formatNumber(low);
  card.querySelector(".colour-scale .high").textContent = formatNumber(high);
  card.querySelector(".legend").textContent = heatmaps.scale === "threshold"
    ? `Against ${code}'s threshold t = ${formatNumber(high / 2)}: blue is far below it (normal), `
      + "green at it, yellow to red above it, up to 2 t and more (defect). Every type has its own scale."
    : "One scale for all types of this image, from 0 to its largest value: "
      + "the hottest type is red even when no type reaches its threshold.";
}

function showResult(result) {
  const card = document.getElementById("result-template").content.firstElementChild.cloneNode(true);
  card.querySelector(".name").textContent = result.image.name;
  const verdict = card.querySelector(".verdict");
  if (result.detected_types === null) {
    verdict.textContent = "no thresholds: scores only";
    verdict.classList.add("unknown");
  } else if (result.decision.length === 1 && result.decision[0] === "unknown defect") {
    verdict.textContent = "unknown defect: no type reaches its threshold, but the scores depart from normal"
      + ` (open-set score ${result.open_set_score.toPrecision(3)})`;
    verdict.classList.add("detected");
  } else if (result.detected_types.length === 0) {
    verdict.textContent = "normal: no type reaches its threshold";
    verdict.classList.add("normal");
  } else {
    verdict.textContent = "detected: " + result.detected_types.join(" ");
    verdict.classList.add("detected");
  }
  card.querySelector(".notes").textContent = result.notes.join(" ");
  const heatmaps = result.heatmaps;
  const main = card.querySelector(".main-picture");
  const caption = card.querySelector(".main-caption");
  const tiles = card.querySelector(".types");
  const show = (code, tile) => {
    main.src = "data:image/png;base64," + heatmaps.types[code];
    main.alt = `heatmap of ${code} over ${result.image.name}`;
    const likely = code === result.most_likely_type ? ", the most likely type" : "";
    caption.textContent = `Heatmap of ${code} (${model.type_names[code]})${likely}:`;
    showScale(card, heatmaps, code);
    for (const other of tiles.children) other.classList.toggle("shown", other === tile);
  };
  for (const code of model.type_codes) {
    const tile = document.getElementById("type-template").content.firstElementChild.cloneNode(true);
    tile.dataset.type = code;
    tile.querySelector("img").src = "data:image/png;base64," + heatmaps.types[code];
    tile.querySelector("img").alt = `heatmap of ${code}`;
    tile.querySelector(".code").textContent = code;
    tile.querySelector(".type-name").textContent = model.type_names[code];
    tile.querySelector(".score").textContent = formatNumber(result.scores[code]);
    tile.querySelector(".threshold").textContent =
      result.thresholds === null ? "none" : formatNumber(result.thresholds[code]);
    const detected = result.detected_types !== null && result.detected_types.includes(code);
    tile.classList.toggle("detected", detected);
    tile.title = detected ? `${code}: score reaches its threshold` : `${code}: below its threshold`;
    tile.addEventListener("click", () => show(code, tile));
    tile.addEventListener("keydown", (event) => { if (event.key === "Enter") show(code, tile); });
    tiles.append(tile);
  }
  show(result.most_likely_type, tiles.querySelector(`[data-type="${result.most_likely_type}"]`));
  addCard(card);
}

async function predict(name, body) {
  let response;
  try {
    const scale = document.getElementById("colour-scale").value;
    response = await fetch(`/predict?heatmaps=png&scale=${scale}`
      + (body ? "" : "&image=" + encodeURIComponent(name)), { method: "POST", body: body });
  } catch (error) {
    showError(name, `The server could not be reached (${error.message}).`);
    return;
  }
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    showError(name, `The server answered ${response.status} ${response.statusText} without JSON.`);
    return;
  }
  if (!response.ok) {
    showError(name, `Refused (${response.status}): ${answer.error}`);
    return;
  }
  showResult(answer);
}

async function predictFiles(files) {
  const list = Array.from(files);
  for (const [index, file] of list.entries()) {
    setStatus(`Predicting ${index + 1} of ${list.length}: ${file.name}`);
    if (file.size > model.limits.max_upload_bytes) {
      // The server would refuse it too, but only after receiving it all.
      showError(file.name, `Refused: ${file.size.toLocaleString("en-US")} bytes is over this server's `
        + `limit of ${model.limits.max_upload_bytes.toLocaleString("en-US")} bytes per upload.`);
      continue;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    await predict(file.name, form);
  }
  setStatus(`Done: ${list.length} image${list.length === 1 ? "" : "s"}.`);
}

async function start() {
  try {
    model = await (await fetch("/model")).json();
  } catch (error) {
    setStatus(`The server could not be reached (${error.message}).`);
    return;
  }
  showFacts(model);
  if (model.folder_images > 0) await loadFolder();
  const input = document.getElementById("file-input");
  input.addEventListener("change", async () => {
    await predictFiles(input.files);
    input.value = "";
  });
  const zone = document.getElementById("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    predictFiles(event.dataTransfer.files);
  });
  document.getElementById("folder-predict").addEventListener("click", async () => {
    const name = document.getElementById("folder-images").value;
    setStatus(`Predicting ${name}`);
    await predict(name, null);
    setStatus(`Done: ${name}.`);
  });
  document.body.dataset.ready = "true";
  setStatus("Ready.");
}

start();
