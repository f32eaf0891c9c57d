#!/usr/bin/env python3
"""Writes the seed corpus FuzzTesting/seeds-zone/ for FuzzZoneRules (run again after editing;
the files are committed): a few real TZif files from /usr/share/zoneinfo (Debian tzdata), a v1
file cut from one, and POSIX TZ strings as the footer carries them."""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds-zone")
ZONES = ["Europe/Berlin", "Australia/Lord_Howe", "America/Havana", "Pacific/Apia", "Asia/Kolkata",
         "Europe/Dublin", "Etc/UTC"]
STRINGS = {
    "posix-berlin": b"CET-1CEST,M3.5.0,M10.5.0/3",
    "posix-lord-howe": b"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    "posix-us-default": b"EST5EDT",
    "posix-all-year-dst": b"EST5EDT4,0/0,J365/25",
    "posix-julian": b"AAA0BBB-1,J60/0,300/-167:59:59",
    "posix-quoted": b"<-03>3",
}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for zone in ZONES:
        with open(os.path.join("/usr/share/zoneinfo", zone), "rb") as f:
            data = f.read()
        with open(os.path.join(OUT, zone.replace("/", "-")), "wb") as f:
            f.write(data)
        if zone == "Europe/Berlin":
            counts = [int.from_bytes(data[i:i + 4], "big") for i in range(20, 44, 4)]
            isut, isstd, leap, time, typ, char = counts
            v1 = bytearray(data[:44 + time * 5 + typ * 6 + char + leap * 8 + isstd + isut])
            v1[4] = 0
            with open(os.path.join(OUT, "v1-Europe-Berlin"), "wb") as f:
                f.write(bytes(v1))
    for name, text in STRINGS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(text)


if __name__ == "__main__":
    main()
