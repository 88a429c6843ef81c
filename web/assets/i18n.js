// The portal's own words, Chinese and English side by side. Words about the catalogue and
// the procedures (online levels, statuses, stages, report categories) are not repeated
// here: the platform serves them from data/ as /assets/labels.json.

const TEXTS = {
  siteName: { zh: "政务服务网", en: "Government Services" },
  tagline: { zh: "一网通办 · 一次办好", en: "One-stop services online" },
  skipToChat: { zh: "跳到在线咨询", en: "Skip to the assistant" },
  languageGroup: { zh: "语言", en: "Language" },
  heroTitle: { zh: "您要办什么事？", en: "What do you need to get done?" },
  heroHint: {
    zh: "搜索办事事项，或直接问政务助手，例如“在成都开小吃店要办什么证”。",
    en: "Search the services, or just ask the assistant, e.g. \"what licence do I need for a snack bar in Chengdu\".",
  },
  searchLabel: { zh: "搜索办事事项", en: "Search services" },
  searchPlaceholder: { zh: "如：护照、开小吃店、公积金提取", en: "e.g. passport, open a snack bar, housing fund" },
  searchButton: { zh: "搜索", en: "Search" },
  searching: { zh: "正在搜索…", en: "Searching…" },
  resultsFor: { zh: "“{q}”的搜索结果", en: "Results for \"{q}\"" },
  noResults: { zh: "没有找到相关事项，换个说法试试，或直接问政务助手。", en: "Nothing found. Try other words, or ask the assistant." },
  searchFailed: { zh: "搜索暂时不可用，请稍后再试。", en: "Search is unavailable right now; please try again shortly." },
  popular: { zh: "热门服务", en: "Popular services" },
  lifeEvents: { zh: "人生大事 · 一件事一次办", en: "Life events" },
  lifeEventHeading: { zh: "{event}：相关事项", en: "{event}: related services" },
  askAssistant: { zh: "问助手", en: "Ask the assistant" },
  officialGuide: { zh: "办事指南", en: "Official guide" },
  askAbout: { zh: "我想办理{name}", en: "How do I get {name}?" },
  workingDays: { zh: "{days}个工作日", en: "{days} working days" },
  sameDay: { zh: "即办", en: "Same day" },
  reportTitle: { zh: "反映问题", en: "Report a problem" },
  reportText: {
    zh: "路灯坏了、噪音扰民、占道经营……告诉政务助手，转交负责部门处理，可随时查询进度。",
    en: "A broken streetlight, noise at night, a blocked pavement… tell the assistant: it goes to the office responsible and you can follow it up.",
  },
  reportButton: { zh: "我要反映问题", en: "Report a problem" },
  reportPrompt: { zh: "我要反映问题", en: "I want to report a problem" },
  statusButton: { zh: "查询办件进度", en: "Check an application" },
  statusPrompt: { zh: "查进度", en: "check my application" },
  emergencyTitle: { zh: "紧急情况请直接拨打", en: "In an emergency, call" },
  emergencyNumbers: { zh: "报警 110 · 火警 119 · 急救 120 · 交通事故 122", en: "Police 110 · Fire 119 · Ambulance 120 · Traffic accident 122" },
  footer: { zh: "政务助手 · 开源的“互联网+政务服务”助手", en: "Zhengwu Assistant · open-source one-stop government services" },
  chatTitle: { zh: "政务助手", en: "Assistant" },
  chatOpen: { zh: "在线咨询", en: "Ask the assistant" },
  chatClose: { zh: "收起对话", en: "Close the chat" },
  chatNew: { zh: "新对话", en: "New chat" },
  chatLog: { zh: "对话记录", en: "Conversation" },
  chatInputLabel: { zh: "输入您的问题", en: "Type your message" },
  chatPlaceholder: { zh: "请输入您要办的事…", en: "Type what you need…" },
  chatSend: { zh: "发送", en: "Send" },
  photoButton: { zh: "上传照片", en: "Upload a photo" },
  connecting: { zh: "正在连接…", en: "Connecting…" },
  online: { zh: "在线", en: "Online" },
  offline: { zh: "连接中断，正在重连…", en: "Disconnected, reconnecting…" },
  unavailable: { zh: "在线咨询暂不可用，请拨打12345热线。", en: "The chat is unavailable; please call the 12345 hotline." },
  you: { zh: "您说：", en: "You said:" },
  assistant: { zh: "助手说：", en: "Assistant said:" },
  typing: { zh: "助手正在输入…", en: "The assistant is typing…" },
  welcome: {
    zh: "您好！我是政务助手，可以帮您查找办事事项、在线申请、预约办理、查询进度，也可以受理问题反映。请问要办什么事？",
    en: "Hello! I'm the government services assistant. I can find a service, help you apply or book a visit, check progress, and take problem reports. What do you need?",
  },
  suggestions: {
    zh: ["在成都武侯区开小吃店要办食品经营许可吗", "护照怎么办", "我要反映问题", "查进度"],
    en: ["I need a food business licence in Wuhou, Chengdu", "how do I renew my passport", "I want to report a problem", "check my application"],
  },
  newChatStarted: { zh: "已开始新的对话。", en: "A new conversation has started." },
  sessionExpired: { zh: "之前的对话已过期，已开始新的对话。", en: "The earlier conversation has expired; a new one has started." },
  uploading: { zh: "正在上传照片…", en: "Uploading the photo…" },
  uploadFailed: { zh: "照片上传失败：{reason}", en: "The photo could not be uploaded: {reason}" },
  photoWrongType: { zh: "请选择 JPG、PNG 或 WebP 格式的图片。", en: "Please choose a JPG, PNG or WebP image." },
  photoTooLarge: { zh: "照片不能超过 5 MB。", en: "A photo may be at most 5 MB." },
  photoSent: { zh: "您上传的照片", en: "Your photo" },
  noAnswer: { zh: "助手暂时没有回应，请稍后再试。", en: "The assistant isn't answering; please try again in a moment." },
  // Cards
  office: { zh: "办理部门", en: "Office" },
  officeUnknown: { zh: "{department}（告诉我所在地区，我来确定具体窗口）", en: "{department} (tell me your district and I'll name the office)" },
  address: { zh: "地址", en: "Address" },
  phone: { zh: "电话", en: "Phone" },
  timeLimit: { zh: "办理时限", en: "Time limit" },
  fee: { zh: "收费", en: "Fee" },
  onlineLevel: { zh: "办理方式", en: "How" },
  materials: { zh: "所需材料", en: "Documents needed" },
  copies: { zh: "{copies}份", en: "×{copies}" },
  steps: { zh: "办理流程", en: "Steps" },
  cardHint: { zh: "想了解材料、流程或去哪办，直接问我；说“我要办理”可在线申请。", en: "Ask me about documents, steps or where to go; say \"apply\" to apply online." },
  seeGuide: { zh: "详见办事指南", en: "See the official guide" },
  applicationReceipt: { zh: "申请已提交", en: "Application submitted" },
  applicationId: { zh: "办件编号", en: "Application number" },
  expectedCompletion: { zh: "预计办结", en: "Expected completion" },
  appointmentReceipt: { zh: "预约成功", en: "Visit booked" },
  appointmentId: { zh: "预约号", en: "Booking number" },
  when: { zh: "时间", en: "When" },
  where: { zh: "地点", en: "Where" },
  complaintReceipt: { zh: "问题已提交", en: "Report filed" },
  complaintId: { zh: "问题编号", en: "Report number" },
  category: { zh: "类别", en: "Kind" },
  categoryWithType: { zh: "{category}（{type}）", en: "{category} ({type})" },
  responseDue: { zh: "答复期限", en: "Answer due by" },
  complaintQueued: { zh: "问题已记下，稍后自动提交", en: "Report saved, to be filed shortly" },
  reference: { zh: "临时编号", en: "Temporary reference" },
  applicationStatus: { zh: "办件进度", en: "Application progress" },
  complaintStatus: { zh: "问题处理进度", en: "Report progress" },
  applicationUpdate: { zh: "办件有新进展", en: "News on your application" },
  complaintUpdate: { zh: "反映的问题有新进展", en: "News on your report" },
  status: { zh: "状态", en: "Status" },
  stage: { zh: "阶段", en: "Stage" },
  nextStep: { zh: "下一步", en: "What next" },
  history: { zh: "办理记录", en: "History" },
  emergency: { zh: "紧急情况", en: "Emergency" },
  callNow: { zh: "立即拨打 {number}", en: "Call {number} now" },
  serviceDetail: { zh: "事项详情", en: "Service details" },
  choose: { zh: "请选择", en: "Please choose" },
};

let current = "zh";
let labels = {};

export function setLanguage(lang) {
  current = lang === "en" ? "en" : "zh";
  document.documentElement.lang = current === "en" ? "en" : "zh-CN";
}

export function language() {
  return current;
}

/** The portal's text `key` in the current language, `{name}` placeholders filled. */
export function t(key, values = {}) {
  const entry = TEXTS[key];
  const text = entry ? entry[current] : key;
  if (Array.isArray(text)) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

export async function loadLabels() {
  try {
    const answer = await fetch("/assets/labels.json");
    if (answer.ok) labels = await answer.json();
  } catch {
    labels = {};
  }
}

/** A code's words from /assets/labels.json (`group`: online_levels, application_statuses, …), or the code. */
export function label(group, code) {
  const entry = (labels[group] || {})[code];
  return entry ? entry[current] || entry.zh : code;
}

/** Fills every element marked data-i18n (text) and data-i18n-attr ("attr:key;attr:key"). */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(";")) {
      const [attribute, key] = pair.split(":");
      node.setAttribute(attribute.trim(), t(key.trim()));
    }
  }
}
