// What the portal offers before anything is typed: popular items and life events.
// Ids are the catalogue's (data/contract/services.yml); names come from the platform in
// the page's language, so only the life events' own titles are written here.

export const POPULAR = [
  "passport",
  "resident-id-card",
  "social-security-card",
  "housing-fund-withdrawal",
  "driving-licence-renewal",
  "residence-permit",
  "no-criminal-record-certificate",
  "food-business-licence",
];

export const LIFE_EVENTS = [
  {
    id: "baby",
    icon: "baby",
    title: { zh: "生孩子", en: "Having a baby" },
    services: ["childbirth-registration", "birth-registration", "resident-id-card", "social-security-card"],
  },
  {
    id: "marriage",
    icon: "rings",
    title: { zh: "结婚", en: "Getting married" },
    services: ["marriage-registration", "household-registration-transfer", "property-registration"],
  },
  {
    id: "shop",
    icon: "shop",
    title: { zh: "开店", en: "Opening a shop" },
    services: ["individual-business-registration", "food-business-licence", "invoice-application", "fire-safety-inspection"],
  },
  {
    id: "retire",
    icon: "retire",
    title: { zh: "退休", en: "Retiring" },
    services: ["pension-claim", "housing-fund-withdrawal", "medical-insurance-cross-region-filing"],
  },
  {
    id: "move",
    icon: "home",
    title: { zh: "搬家", en: "Moving home" },
    services: ["household-registration-transfer", "residence-permit", "school-enrollment", "medical-insurance-cross-region-filing"],
  },
];
