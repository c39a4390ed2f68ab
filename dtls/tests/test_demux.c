/* RFC 7983 section 7 first-byte demultiplexing and the RFC 5761 RTP/RTCP split. */
#include "rg_dtls.h"
#include "th.h"

static void test_ranges(void)
{
	/* every first byte against the table of RFC 7983 section 7 */
	for (int b = 0; b < 256; b++) {
		uint8_t p[2] = {(uint8_t)b, 0};
		enum rg_demux_class want = RG_DEMUX_UNKNOWN;
		if (b <= 3)
			want = RG_DEMUX_STUN;
		else if (b >= 16 && b <= 19)
			want = RG_DEMUX_ZRTP;
		else if (b >= 20 && b <= 63)
			want = RG_DEMUX_DTLS;
		else if (b >= 64 && b <= 79)
			want = RG_DEMUX_TURN_CHANNEL;
		else if (b >= 128 && b <= 191)
			want = RG_DEMUX_RTP;
		CHECK_INT(rg_demux_classify(p, sizeof(p)), want);
		CHECK_INT(rg_dtls_is_dtls(p, sizeof(p)), want == RG_DEMUX_DTLS);
	}
	/* edges spelled out */
	static const struct {
		uint8_t b;
		enum rg_demux_class c;
	} edges[] = {
		{0, RG_DEMUX_STUN},          {3, RG_DEMUX_STUN},   {4, RG_DEMUX_UNKNOWN},
		{15, RG_DEMUX_UNKNOWN},      {16, RG_DEMUX_ZRTP},  {19, RG_DEMUX_ZRTP},
		{20, RG_DEMUX_DTLS},         {22, RG_DEMUX_DTLS},  {63, RG_DEMUX_DTLS},
		{64, RG_DEMUX_TURN_CHANNEL}, {79, RG_DEMUX_TURN_CHANNEL}, {80, RG_DEMUX_UNKNOWN},
		{127, RG_DEMUX_UNKNOWN},     {128, RG_DEMUX_RTP},  {191, RG_DEMUX_RTP},
		{192, RG_DEMUX_UNKNOWN},     {255, RG_DEMUX_UNKNOWN},
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		CHECK_INT(rg_demux_classify(&edges[i].b, 1), edges[i].c);
	CHECK_INT(rg_demux_classify(NULL, 0), RG_DEMUX_UNKNOWN);
	uint8_t z = 22;
	CHECK_INT(rg_demux_classify(&z, 0), RG_DEMUX_UNKNOWN);
	CHECK(!rg_dtls_is_dtls(&z, 0));
	CHECK_STR(rg_demux_name(RG_DEMUX_DTLS), "dtls");
	CHECK_STR(rg_demux_name(RG_DEMUX_TURN_CHANNEL), "turn-channel");
	CHECK_STR(rg_demux_name((enum rg_demux_class)99), "unknown");
}

static void test_rtcp_mux(void)
{
	static const struct {
		uint8_t b1;
		bool rtcp;
	} cases[] = {
		{200, true},  /* SR */
		{201, true},  /* RR */
		{204, true},  /* APP */
		{205, true},  /* RTPFB */
		{206, true},  /* PSFB */
		{207, true},  /* XR */
		{0, false},   /* PCMU */
		{8, false},   /* PCMA */
		{96, false},  /* dynamic */
		{111, false}, /* opus */
		{127, false},
		{0x80 | 111, false}, /* opus with marker */
		{0x80 | 0, false},
		{0x80 | 63, false},
		{192, true},  /* PT 64 (FIR, historic) */
		{223, true},  /* PT 95 */
		{224, false}, /* PT 96 with marker */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[12] = {0x80, cases[i].b1};
		CHECK_INT(rg_demux_is_rtcp(p, sizeof(p)), cases[i].rtcp);
	}
	uint8_t one = 0x80;
	CHECK(!rg_demux_is_rtcp(&one, 1));
	CHECK(!rg_demux_is_rtcp(NULL, 12));
}

int main(void)
{
	RUN(test_ranges);
	RUN(test_rtcp_mux);
	return th_done("rgdtls demux");
}
