/*
 * mst-abi.c: the mstflint kernel driver's ioctl ABI, compiled by the C compiler.
 *
 * The structs and request numbers are written from fs3-facts.md section 5.4 (mstflint
 * kernel/mst.h), using the kernel's own _IOR/_IOW macros from <linux/ioctl.h>, so the
 * compiler (not a person) computes every number, size and offset for this architecture.
 * It prints them as JSON; test/transport-mst-abi.test.ts compiles this file with `cc`, runs
 * it and compares every value with the TypeScript table in src/transport/mst/abi.ts.
 *
 *   cc -std=c11 -Wall -Wextra -o mst-abi native-shims/mst-abi.c && ./mst-abi
 *
 * It only prints: it opens no device and issues no ioctl.
 */
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>

/* Magic (_IOC_TYPE) bytes, as the numbers in section 5.4 encode them. */
#define MST_PARAMS_MAGIC 0xD0 /* MST_PARAMS */
#define MST_PCICONF_MAGIC 0xD1 /* one dword: PCICONF_READ4 / PCICONF_WRITE4 */
#define MST_BLOCK_MAGIC 0xD2 /* up to 64 dwords: the *_BUFFER requests */
#define MST_VPD_MAGIC 0xD6 /* VPD_READ4 / VPD_WRITE4 */

/* Dwords carried by one buffer request. */
#define MST_BLOCK_DWORDS 64

/* MST_PARAMS: ten u32 fields describing the PCI function behind the node. */
struct mst_params {
	__u32 domain;
	__u32 bus;
	__u32 slot;
	__u32 func;
	__u32 bar;
	__u32 device;
	__u32 vendor;
	__u32 subsys_dev;
	__u32 subsys_vendor;
	__u32 functional_vsc_offset;
};

/* One dword of an address space (the driver runs the VSEC protocol itself). */
struct mst_read4_st {
	__u32 address_space;
	__u32 offset;
	__u32 data;
};

struct mst_write4_st {
	__u32 address_space;
	__u32 offset;
	__u32 data;
};

/* Up to MST_BLOCK_DWORDS dwords under one lock. */
struct mst_read4_buffer_st {
	__u32 address_space;
	__u32 offset;
	int size;
	__u32 data[MST_BLOCK_DWORDS];
};

struct mst_write4_buffer_st {
	__u32 address_space;
	__u32 offset;
	int size;
	__u32 data[MST_BLOCK_DWORDS];
};

/*
 * The legacy ("BC") buffer request: its number encodes a 12-byte argument, i.e. only the
 * header; a flexible data[] member fits that number. Beyond the number this is UNVERIFIED.
 */
struct mst_read4_buffer_bc_st {
	__u32 address_space;
	__u32 offset;
	int size;
	__u32 data[];
};

struct mst_vpd_read4_st {
	__u32 offset;
	__u32 timeout_ms;
	__u32 data;
};

struct mst_vpd_write4_st {
	__u32 offset;
	__u32 timeout_ms;
	__u32 data;
};

#define MST_PARAMS _IOR(MST_PARAMS_MAGIC, 1, struct mst_params)
#define PCICONF_READ4 _IOR(MST_PCICONF_MAGIC, 1, struct mst_read4_st)
#define PCICONF_WRITE4 _IOW(MST_PCICONF_MAGIC, 2, struct mst_write4_st)
#define PCICONF_READ4_BUFFER _IOR(MST_BLOCK_MAGIC, 3, struct mst_read4_buffer_st)
#define PCICONF_WRITE4_BUFFER _IOW(MST_BLOCK_MAGIC, 4, struct mst_write4_buffer_st)
#define PCICONF_READ4_BUFFER_BC _IOR(MST_BLOCK_MAGIC, 3, struct mst_read4_buffer_bc_st)
#define VPD_READ4 _IOR(MST_VPD_MAGIC, 1, struct mst_vpd_read4_st)
#define VPD_WRITE4 _IOW(MST_VPD_MAGIC, 2, struct mst_vpd_write4_st)

static int first;

static void sep(void)
{
	if (!first)
		printf(",");
	first = 0;
	printf("\n");
}

static void ioctl_entry(const char *name, unsigned long number)
{
	sep();
	printf("    \"%s\": {\"number\": %lu, \"dir\": %lu, \"type\": %lu, \"nr\": %lu, \"size\": %lu}", name, number,
	       (unsigned long)_IOC_DIR(number), (unsigned long)_IOC_TYPE(number), (unsigned long)_IOC_NR(number),
	       (unsigned long)_IOC_SIZE(number));
}

static void field(const char *name, size_t offset, size_t size)
{
	sep();
	printf("        \"%s\": {\"offset\": %zu, \"size\": %zu}", name, offset, size);
}

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define FIELD(type, member) field(#member, offsetof(type, member), MEMBER_SIZE(type, member))

#define STRUCT_BEGIN(type)                                                                        \
	do {                                                                                      \
		sep();                                                                            \
		printf("    \"%s\": {\"size\": %zu, \"fields\": {", #type + sizeof("struct ") - 1, \
		       sizeof(type));                                                             \
		first = 1;                                                                        \
	} while (0)
#define STRUCT_END() (printf("\n      }}"), first = 0)

#define RW4_FIELDS(type)                   \
	do {                               \
		FIELD(type, address_space); \
		FIELD(type, offset);        \
		FIELD(type, data);          \
	} while (0)

#define BUFFER_FIELDS(type)                \
	do {                               \
		FIELD(type, address_space); \
		FIELD(type, offset);        \
		FIELD(type, size);          \
		FIELD(type, data);          \
	} while (0)

#define VPD_FIELDS(type)                 \
	do {                             \
		FIELD(type, offset);      \
		FIELD(type, timeout_ms);  \
		FIELD(type, data);        \
	} while (0)

int main(void)
{
	printf("{\n  \"abi\": \"mstflint\",\n  \"sizeof_long\": %zu,\n  \"block_dwords\": %d,\n", sizeof(long),
	       MST_BLOCK_DWORDS);
	printf("  \"ioc\": {\"nrbits\": %d, \"typebits\": %d, \"sizebits\": %d, \"dirbits\": %d, \"write\": %d, \"read\": %d},\n",
	       _IOC_NRBITS, _IOC_TYPEBITS, _IOC_SIZEBITS, _IOC_DIRBITS, _IOC_WRITE, _IOC_READ);

	printf("  \"ioctls\": {");
	first = 1;
	ioctl_entry("MST_PARAMS", MST_PARAMS);
	ioctl_entry("PCICONF_READ4", PCICONF_READ4);
	ioctl_entry("PCICONF_WRITE4", PCICONF_WRITE4);
	ioctl_entry("PCICONF_READ4_BUFFER", PCICONF_READ4_BUFFER);
	ioctl_entry("PCICONF_WRITE4_BUFFER", PCICONF_WRITE4_BUFFER);
	ioctl_entry("PCICONF_READ4_BUFFER_BC", PCICONF_READ4_BUFFER_BC);
	ioctl_entry("VPD_READ4", VPD_READ4);
	ioctl_entry("VPD_WRITE4", VPD_WRITE4);
	printf("\n  },\n");

	printf("  \"structs\": {");
	first = 1;

	STRUCT_BEGIN(struct mst_params);
	FIELD(struct mst_params, domain);
	FIELD(struct mst_params, bus);
	FIELD(struct mst_params, slot);
	FIELD(struct mst_params, func);
	FIELD(struct mst_params, bar);
	FIELD(struct mst_params, device);
	FIELD(struct mst_params, vendor);
	FIELD(struct mst_params, subsys_dev);
	FIELD(struct mst_params, subsys_vendor);
	FIELD(struct mst_params, functional_vsc_offset);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_read4_st);
	RW4_FIELDS(struct mst_read4_st);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_write4_st);
	RW4_FIELDS(struct mst_write4_st);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_read4_buffer_st);
	BUFFER_FIELDS(struct mst_read4_buffer_st);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_write4_buffer_st);
	BUFFER_FIELDS(struct mst_write4_buffer_st);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_read4_buffer_bc_st);
	FIELD(struct mst_read4_buffer_bc_st, address_space);
	FIELD(struct mst_read4_buffer_bc_st, offset);
	FIELD(struct mst_read4_buffer_bc_st, size);
	/* a flexible array member has no sizeof: it occupies no bytes of the struct */
	field("data", offsetof(struct mst_read4_buffer_bc_st, data), 0);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_vpd_read4_st);
	VPD_FIELDS(struct mst_vpd_read4_st);
	STRUCT_END();

	STRUCT_BEGIN(struct mst_vpd_write4_st);
	VPD_FIELDS(struct mst_vpd_write4_st);
	STRUCT_END();

	printf("\n  }\n}\n");
	return 0;
}
